import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { NetemRuleError, parseNetemRule } from '../../../../extension/pipeline/netem';

function error(text: string): NetemRuleError {
  try {
    parseNetemRule(text);
  } catch (err) {
    assert.ok(err instanceof NetemRuleError, `not a NetemRuleError: ${err}`);
    return err;
  }
  assert.fail(`'${text}' parsed`);
}

describe('netem rule language', () => {
  it('reads every action in netem spelling', () => {
    const r = parseNetemRule('ip_input: loss 5% 25% delay 100ms ±10ms 30% duplicate 1% reorder 25% 50% gap 5 corrupt 0.1% rate 1mbit mtu 576 limit 50');
    assert.equal(r.stage, 'ip_input');
    assert.equal(r.filter, undefined);
    assert.deepEqual(r.actions.loss, { p: 0.05, correlation: 0.25 });
    assert.deepEqual(r.actions.delay, { ms: 100, jitterMs: 10, correlation: 0.3 });
    assert.deepEqual(r.actions.duplicate, { p: 0.01, correlation: 0 });
    assert.deepEqual(r.actions.reorder, { p: 0.25, correlation: 0.5, gap: 5 });
    assert.deepEqual(r.actions.corrupt, { p: 0.001, correlation: 0 });
    assert.deepEqual(r.actions.rate, { bytesPerMs: 125, text: '1mbit' });
    assert.equal(r.actions.mtu, 576);
    assert.equal(r.actions.limit, 50);
  });

  it('takes the jitter after ±, +-, or on its own, and times in us, ms and s', () => {
    for (const text of ['delay 100ms ±10ms', 'delay 100ms +-10ms', 'delay 100ms +- 10ms', 'delay 100 10', 'delay 0.1s 10000us', 'delay 100ms ± 10ms']) {
      assert.deepEqual(parseNetemRule(`icmp_reflect: ${text}`).actions.delay, { ms: 100, jitterMs: 10, correlation: 0 }, text);
    }
  });

  it('reads rates in bits and bytes per second, unit joined or apart', () => {
    assert.equal(parseNetemRule('tcp_output: rate 512kbit').actions.rate?.bytesPerMs, 64);
    assert.equal(parseNetemRule('tcp_output: rate 1 gbit').actions.rate?.bytesPerMs, 125_000);
    assert.equal(parseNetemRule('tcp_output: rate 100kbps').actions.rate?.bytesPerMs, 100);
  });

  it('takes a filter, even one with colons, and commas between actions', () => {
    const r = parseNetemRule('ip_input if eth.src == 52:54:00:12:34:56 && udp: loss 50%, duplicate 10%');
    assert.equal(r.filter?.text.trim(), 'eth.src == 52:54:00:12:34:56 && udp');
    assert.equal(r.actions.loss?.p, 0.5);
    assert.equal(r.actions.duplicate?.p, 0.1);
  });

  it('says where a rule is wrong', () => {
    const cases: Array<[string, RegExp, number]> = [
      ['ip_inptu: loss 5%', /unknown stage 'ip_inptu' \(did you mean 'ip_input'\?\)/, 1],
      ['e1000_receive_iov: loss 5%', /NIC stage/, 1],
      ['sosend: delay 10ms', /byte stream.*tcp_input/, 1],
      ['ip_input loss 5%', /expected ':' and actions/, 17],
      ['ip_input: lose 5%', /unknown action 'lose'/, 11],
      ['ip_input: loss 5', /expected a percentage for loss/, 16],
      ['ip_input: loss 150%', /over 100%/, 16],
      ['ip_input: loss', /expected a probability after loss/, 15],
      ['ip_input: delay 10 parsecs', /unknown action 'parsecs'/, 20],
      ['ip_input: delay fast', /expected a time/, 17],
      ['ip_input: rate 1mbits', /expected a rate/, 16],
      ['ip_input: mtu 20', /mtu 20 is out of range/, 15],
      ['ip_input: reorder 25%', /reorder needs a delay/, 11],
      ['ip_input: loss 1% loss 2%', /'loss' is given twice/, 19],
      ['ip_input if tcp.dstport == : loss 5%', /at column 28$/, 28],
      ['ip_input if tcp.dstprot == 80: loss 5%', /unknown field 'tcp.dstprot'/, 13],
      ['ip_input when tcp: loss 5%', /expected 'if' or ':'/, 10],
      ['ip_input:', /expected actions/, 10],
    ];
    for (const [text, message, column] of cases) {
      const e = error(text);
      assert.match(e.message, message, text);
      assert.equal(e.column, column, `${text}: ${e.message}`);
      assert.match(e.message, new RegExp(`at column ${column}$`));
    }
  });
});
