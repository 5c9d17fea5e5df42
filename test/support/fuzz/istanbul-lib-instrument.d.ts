// The part of istanbul-lib-instrument the fuzz engine uses (the package ships no types).
declare module 'istanbul-lib-instrument' {
  export interface InstrumenterOptions {
    coverageVariable?: string;
    compact?: boolean;
    esModules?: boolean;
    produceSourceMap?: boolean;
  }
  export interface Instrumenter {
    instrumentSync(code: string, filename: string): string;
  }
  export function createInstrumenter(options?: InstrumenterOptions): Instrumenter;
}
