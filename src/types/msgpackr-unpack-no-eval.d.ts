// msgpackr's decoder without its native string extractor (msgpackr-extract). The package ships no
// declarations for this entry; its API is that of the `msgpackr/unpack` entry.
declare module 'msgpackr/unpack-no-eval' {
  export { Unpackr } from 'msgpackr/unpack';
}
