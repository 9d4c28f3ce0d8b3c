// Runs once before the suite: nothing shared to start yet; peers are started per test file
// (each on its own free loopback port) so files stay independent.
export default function setup(): void {}
