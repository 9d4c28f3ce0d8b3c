// The part of des.js (a pure-JS DES/3DES, no types of its own) the wallet's card uses.
declare module 'des.js' {
  interface Cipher {
    update(data: number[]): number[];
    final(): number[];
  }
  const des: {
    EDE: { create(opts: { type: 'encrypt' | 'decrypt'; key: number[]; padding?: boolean }): Cipher };
  };
  export default des;
}
