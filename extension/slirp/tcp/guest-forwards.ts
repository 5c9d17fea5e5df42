import type { GuestForward, SlirpConfig } from '../config';

/** The guestfwd rule for a guest destination, if any (these win over NAT to the host). */
export function findGuestForward(config: SlirpConfig, dst: number, dstPort: number): GuestForward | undefined {
  for (const f of config.guestForwards) if (f.protocol === 'tcp' && f.serverAddr === dst && f.serverPort === dstPort) return f;
  return undefined;
}
