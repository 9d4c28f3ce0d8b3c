// Vite's "?url" imports: the URL the build gives the file (the pdf.js worker, served from this origin).
declare module '*?url' {
  const url: string;
  export default url;
}
