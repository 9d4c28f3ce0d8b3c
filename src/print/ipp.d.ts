// The `ipp` package ships no types; ipp-client.ts states the two functions it uses.
declare module 'ipp' {
  const ipp: unknown;
  export default ipp;
}
