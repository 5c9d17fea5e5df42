/**
 * A capture whose pcapng frames carry their journey in a comment (stage,
 * journey id, the packet it answers, the NAT mapping), the same for the CLI's
 * --pcap and the debugger's Start Capture. A journey recorder follows every
 * frame while the capture runs: it listens before the capture does, so a
 * frame's journey is known when the frame is written. Classic pcap has no
 * comments and needs no recorder.
 */
import { attachCapture, captureFormatOf, type Capture, type CaptureOptions } from './capture';
import type { Clock } from './clock';
import { captureComment } from './journey';
import { JourneyRecorder } from './journey-recorder';
import type { ProbeHit, ProbeHub } from './probe';

export function attachJourneyCapture(hub: ProbeHub, options: CaptureOptions, clock: Clock | undefined): Capture {
  const pcapng = (options.format ?? captureFormatOf(options.file)) === 'pcapng';
  const recorder = clock && pcapng ? new JourneyRecorder(hub, { clock, engine: options.engine ?? 'embedded' }) : undefined;
  const stopRecorder = recorder?.start();
  let capture: Capture;
  try {
    capture = attachCapture(hub, { ...options, ...(recorder ? { annotate: (hit: ProbeHit) => captureComment(hit.stage, recorder.journeyOf(hit.frame)) } : {}) });
  } catch (e) {
    stopRecorder?.();
    throw e;
  }
  return {
    get stats() {
      return capture.stats;
    },
    stop() {
      stopRecorder?.();
      return capture.stop();
    },
  };
}
