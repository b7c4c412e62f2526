export interface BenchResult {
  name: string;
  value: number;
  unit: string;
  reference?: string;
  ratio?: number;
}
export declare class BenchSuite {
  constructor(title: string, opts?: { time?: number; warmupTime?: number });
  readonly title: string;
  readonly results: BenchResult[];
  time(
    name: string,
    fn: () => unknown,
    opts?: { opsPerCall?: number; setup?: () => void },
  ): Promise<{ nsPerOp: number; opsPerSec: number }>;
  record(result: BenchResult): BenchResult;
  finish(): void;
}
export declare function fmt(v: number): string;
export declare function printTable(title: string, results: BenchResult[]): void;
