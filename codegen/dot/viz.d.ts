// @aduh95/viz.js ships its types (dist/index.d.ts) but its package.json `exports` does not point
// at them for the main entry, so TypeScript's bundler resolution cannot find them: the part used here.
declare module '@aduh95/viz.js' {
  import type { Worker } from 'node:worker_threads';

  export interface RenderOptions {
    engine?: 'circo' | 'dot' | 'fdp' | 'neato' | 'osage' | 'twopi';
    format?: 'svg' | 'dot' | 'xdot' | 'plain' | 'plain-ext' | 'ps' | 'ps2' | 'json' | 'json0';
  }

  /** Graphviz in a worker thread: one instance per Viz. */
  export default class Viz {
    constructor(options: { worker: Worker });
    renderString(src: string, options?: RenderOptions): Promise<string>;
    terminateWorker(): Promise<number> | void;
  }
}
