/**
 * Bytes allocated on the V8 heap over a stretch of code, from the GC profiler:
 * every collection reports the used heap before and after it, so what was
 * allocated is the growth between collections plus the growth after the last.
 * ArrayBuffer contents (Buffer data, socket reads) live outside the V8 heap and
 * are not in this figure; `external` reports their net change separately.
 */
import { GCProfiler, getHeapStatistics } from 'node:v8';

export interface AllocationReport {
  heapBytes: number;
  collections: number;
  /** Milliseconds spent in GC (the profiler's cost field, microseconds summed). */
  gcMs: number;
}

interface GcEntry {
  cost: number;
  beforeGC: { heapStatistics: { usedHeapSize: number } };
  afterGC: { heapStatistics: { usedHeapSize: number } };
}

export class AllocationMeter {
  private profiler = new GCProfiler();
  private startUsed = 0;

  start(): void {
    this.startUsed = getHeapStatistics().used_heap_size;
    this.profiler.start();
  }

  stop(): AllocationReport {
    const endUsed = getHeapStatistics().used_heap_size;
    const data = this.profiler.stop() as unknown as { statistics: GcEntry[] } | undefined;
    const stats = data?.statistics ?? [];
    let allocated = 0;
    let last = this.startUsed;
    let gcUs = 0;
    for (const s of stats) {
      allocated += Math.max(0, s.beforeGC.heapStatistics.usedHeapSize - last);
      last = s.afterGC.heapStatistics.usedHeapSize;
      gcUs += s.cost;
    }
    allocated += Math.max(0, endUsed - last);
    return { heapBytes: allocated, collections: stats.length, gcMs: gcUs / 1000 };
  }
}
