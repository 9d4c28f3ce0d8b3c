// The print step of issuance (reference 002) on real printers: a private CUPS with a file-backed
// queue and ippeveprinter, reached by the real agent client, whose encoders are virtual readers
// holding emulated PIV cards. The card is encoded, printed (the PDF the printer received,
// rasterized with pdftoppm, is the print step's preview), then waits for Continue (active) or
// Cancel (pending). A disabled queue and a killed printer fail the job with Retry/Cancel, and the
// card is never active unless it was encoded, printed and confirmed.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentClient } from '../../src/agent/agent-client.js';
import { AgentPrinters } from '../../src/agent/printers.js';
import { decodeCommand } from '../../src/cards/apdu.js';
import { MemoryReaderSet } from '../../src/cards/transport/memory.js';
import { demoCard } from '../../src/services/demo-agent.js';
import { pairAgent, signIn, until } from '../agent/support.js';
import { makeJpeg, pixelDifference, rasterize } from '../support/images.js';
import {
  cupsAvailable,
  ippeveAvailable,
  startAll,
  startCups,
  startIppEvePrinter,
  stopAvahi,
  stopPeer,
  type CupsPrinter,
  type IppEvePrinter,
} from '../support/printers.js';
import { startTestServer, type ApiClient, type TestServer } from '../support/server.js';
import type { CardPrinting } from '../../src/services/issuance/print-step.js';

type Job = {
  id: string;
  deviceId: string;
  status: string;
  step: string;
  error: { code: string; message: string; detail?: string } | null;
  print: { printerId: string; layoutId: string; encoded: boolean; printJobId: number | null } | null;
};
type Device = { id: string; state: string; serial: string; userId: string | null; expiresAt: string | null };
type Printer = { id: string; name: string; encoder: string | null };

const PIN = '482916';

describe.skipIf(!cupsAvailable || !ippeveAvailable)(
  'issuance with the print step (CUPS and ippeveprinter)',
  () => {
    let srv: TestServer;
    let cups: CupsPrinter;
    let eve: IppEvePrinter;
    let admin: ApiClient;
    let agent: AgentClient;
    let agentId: string;
    let readers: MemoryReaderSet;
    let cardDir: string;
    let layoutId: string;
    let policyId: string;
    let eveId: string;
    let cupsId: string;

    beforeAll(async () => {
      [srv, cups, eve] = await startAll<[TestServer, CupsPrinter, IppEvePrinter]>(
        [() => startTestServer({ demo: true }), () => startCups(), () => startIppEvePrinter()],
        stopPeer,
      );
      cardDir = mkdtempSync(join(tmpdir(), 'tessera-print-cards-'));
      admin = await signIn(srv.url, srv.admin.username, srv.admin.password);
      const identity = await pairAgent(admin, 'Badge desk');
      agentId = identity.agentId;
      readers = new MemoryReaderSet();
      readers.addReader('Encoder in Eve');
      readers.addReader('Encoder in CUPS');
      agent = new AgentClient({
        server: srv.url,
        token: identity.token,
        readers,
        printers: new AgentPrinters([
          { name: 'Eve', uri: eve.uri, encoder: 'Encoder in Eve' },
          { name: 'CUPS card', uri: cups.uri, encoder: 'Encoder in CUPS' },
        ]),
      });
      agent.start();
      await agent.waitConnected();
      layoutId = (await admin.json<{ items: { id: string }[] }>('GET', '/api/layouts')).body.items[0]!.id;
      policyId = (
        await admin.json<{ items: { id: string; name: string }[] }>('GET', '/api/policies')
      ).body.items.find((p) => p.name === 'PIV ECC P-256 (demo)')!.id;
      const printers = await until('both printers', async () => {
        const v = (await admin.json<{ items: Printer[] }>('GET', '/api/printers')).body;
        return v.items.length === 2 ? v.items : undefined;
      });
      eveId = printers.find((p) => p.name === 'Eve')!.id;
      cupsId = printers.find((p) => p.name === 'CUPS card')!.id;
      const photo = await makeJpeg(300, 400, '#C03020');
      expect(
        (
          await admin.json('PUT', `/api/users/${await idOf('alice')}/photo`, {
            data: photo.toString('base64'),
          })
        ).status,
      ).toBe(200);
    });
    afterAll(async () => {
      await Promise.allSettled([agent?.stop()]);
      await Promise.allSettled([srv?.close(), cups?.stop(), eve?.stop()]);
      stopAvahi();
      if (cardDir) rmSync(cardDir, { recursive: true, force: true });
    });

    async function idOf(username: string): Promise<string> {
      const r = await admin.json<{ items: { id: string; username: string }[] }>(
        'GET',
        `/api/users?q=${username}`,
      );
      return r.body.items.find((u) => u.username === username)!.id;
    }

    /** Feeds a blank card into a printer's encoder (the reader inside it). */
    function feed(reader: string, serial: string) {
      readers.remove(reader);
      readers.insert(reader, demoCard(cardDir, serial));
    }

    async function start(username: string, printerId: string, reader: string, requestId?: string) {
      return admin.json<{ device: Device; job: Job }>('POST', '/api/issuance', {
        ...(requestId ? { requestId } : {}),
        userId: await idOf(username),
        agentId,
        reader,
        action: 'issue',
        policyId,
        pin: PIN,
        pinConfirmation: PIN,
        printerId,
        layoutId,
      });
    }

    const job = async (id: string) => (await admin.json<Job>('GET', `/api/issuance/jobs/${id}`)).body;
    const device = async (id: string) => (await admin.json<Device>('GET', `/api/devices/${id}`)).body;
    const settled = (id: string) =>
      until(
        `job ${id} to leave running`,
        async () => {
          const j = await job(id);
          return j.status === 'running' ? undefined : j;
        },
        90_000,
      );
    const printed = async (jobId: string) =>
      Buffer.from(await (await admin.call('GET', `/api/issuance/jobs/${jobId}/print`)).arrayBuffer());

    it('refuses a card that is not in the chosen printer’s encoder', async () => {
      feed('Encoder in CUPS', '10000006');
      const r = await start('alice', eveId, 'Encoder in CUPS');
      expect(r.status).toBe(400);
      expect((r.body as unknown as { error: { message: string } }).error.message).toMatch(
        /must be in the encoder of "Eve" \(Encoder in Eve\), not in "Encoder in CUPS"/,
      );
    });

    it('encodes and prints alice’s card on ippeveprinter, waits at the print step, Continue → active', async () => {
      feed('Encoder in Eve', '10000001');
      const r = await start('alice', eveId, 'Encoder in Eve');
      expect(r.status, JSON.stringify(r.body)).toBe(202);
      const j = await settled(r.body.job.id);
      expect(j.error).toBeNull();
      expect(j.status).toBe('awaiting_confirmation');
      expect(j.print).toMatchObject({ printerId: eveId, layoutId, encoded: true });
      expect(j.print!.printJobId).toBeGreaterThan(0);
      // At the print step the card is encoded and printed, but not active.
      expect((await device(j.deviceId)).state).toBe('issuing');
      // The card's read-back report is stored with its encoding.
      const report = await admin.json<{ report: unknown }>('GET', `/api/devices/${j.deviceId}/conformance`);
      expect(report.body.report).not.toBeNull();

      // What the printer received is what the print step shows (rasterized, both sides).
      const received = eve.jobs();
      expect(received).toHaveLength(1);
      const shown = await printed(j.id);
      const a = rasterize(received[0]!, 100);
      const b = rasterize(shown, 100);
      expect(a).toHaveLength(2);
      for (let i = 0; i < 2; i++) expect(pixelDifference(a[i]!, b[i]!)).toBeLessThan(0.002);
      // … and it is alice's card: her photo (red) is on the front, unlike the sample person's.
      const sample = rasterize(
        Buffer.from(await (await admin.call('GET', `/api/layouts/${layoutId}/preview`)).arrayBuffer()),
        100,
      );
      expect(pixelDifference(a[0]!, sample[0]!)).toBeGreaterThan(0.01);

      const c = await admin.json<Job>('POST', `/api/issuance/jobs/${j.id}/print/continue`, {});
      expect(c.status, JSON.stringify(c.body)).toBe(200);
      expect(c.body.status).toBe('succeeded');
      const d = await device(j.deviceId);
      expect(d.state).toBe('active');
      expect(d.expiresAt).not.toBeNull();
      const certs = await admin.json<{ items: { status: string }[] }>(
        'GET',
        `/api/certificates?deviceId=${j.deviceId}`,
      );
      expect(certs.body.items.length).toBeGreaterThan(0);
      expect(certs.body.items.every((x) => x.status === 'valid')).toBe(true);
      // Continue again is a race lost: refused, saying why.
      const again = await admin.json<{ error: { code: string } }>(
        'POST',
        `/api/issuance/jobs/${j.id}/print/continue`,
        {},
      );
      expect(again.status).toBe(409);
    });

    it('prints bob’s card on the CUPS queue; Cancel at the print step leaves it pending, activated later', async () => {
      feed('Encoder in CUPS', '10000002');
      const r = await start('bob', cupsId, 'Encoder in CUPS');
      expect(r.status, JSON.stringify(r.body)).toBe(202);
      const j = await settled(r.body.job.id);
      expect(j.status).toBe('awaiting_confirmation');
      const a = rasterize(readFileSync(cups.output), 100);
      const b = rasterize(await printed(j.id), 100);
      for (let i = 0; i < 2; i++) expect(pixelDifference(a[i]!, b[i]!)).toBeLessThan(0.002);

      const c = await admin.json<Job>('POST', `/api/issuance/jobs/${j.id}/print/cancel`, {});
      expect(c.status, JSON.stringify(c.body)).toBe(200);
      expect(c.body.status).toBe('cancelled');
      const d = await device(j.deviceId);
      expect(d.state).toBe('pending');
      expect(d.userId).toBe(await idOf('bob'));
      // The card is whole: its certificates are kept for the day it is activated.
      const certs = await admin.json<{ items: { status: string }[] }>(
        'GET',
        `/api/certificates?deviceId=${j.deviceId}`,
      );
      expect(certs.body.items.some((x) => x.status === 'valid')).toBe(true);

      const act = await admin.json<Device>('POST', `/api/devices/${j.deviceId}/activate`, {});
      expect(act.status, JSON.stringify(act.body)).toBe(200);
      expect(act.body.state).toBe('active');
      const twice = await admin.json('POST', `/api/devices/${j.deviceId}/activate`, {});
      expect(twice.status).toBe(409);
    });

    it('a stopped CUPS queue fails the job (not active); Retry prints again without re-encoding', async () => {
      feed('Encoder in CUPS', '10000003');
      cups.disable();
      let j: Job;
      try {
        const r = await start('carol', cupsId, 'Encoder in CUPS');
        expect(r.status, JSON.stringify(r.body)).toBe(202);
        j = await settled(r.body.job.id);
      } finally {
        cups.enable();
      }
      expect(j.status).toBe('failed');
      expect(j.error?.code).toBe('print_failed');
      expect(j.error?.message).toMatch(/not printed.*stopped.*Retry/);
      expect(j.error?.detail).toMatch(/paused/);
      expect(j.print?.encoded).toBe(true);
      expect((await device(j.deviceId)).state).toBe('failed');

      // The card left the encoder: a print-only retry does not need it.
      readers.remove('Encoder in CUPS');
      const retried = await admin.json<Job>('POST', `/api/issuance/jobs/${j.id}/retry`, {});
      expect(retried.status, JSON.stringify(retried.body)).toBe(200);
      const again = await settled(j.id);
      expect(again.error).toBeNull();
      expect(again.status).toBe('awaiting_confirmation');
      const c = await admin.json<Job>('POST', `/api/issuance/jobs/${j.id}/print/continue`, {});
      expect(c.body.status).toBe('succeeded');
      expect((await device(j.deviceId)).state).toBe('active');
    });

    it('a printer that went offline fails the job; Cancel leaves the encoded card pending, then it is recycled', async () => {
      feed('Encoder in Eve', '10000004');
      eve.kill();
      const r = await start('hannah.help', eveId, 'Encoder in Eve');
      expect(r.status, JSON.stringify(r.body)).toBe(202);
      const j = await settled(r.body.job.id);
      expect(j.status).toBe('failed');
      expect(j.error?.message).toMatch(/cannot be reached/);
      expect((await device(j.deviceId)).state).toBe('failed');

      const c = await admin.json<Job>('POST', `/api/issuance/jobs/${j.id}/cancel`, {});
      expect(c.status, JSON.stringify(c.body)).toBe(200);
      expect(c.body.status).toBe('cancelled');
      expect((await device(j.deviceId)).state).toBe('pending');

      // Recycle: the card is wiped, its certificates revoked, and it is blank inventory again.
      const rec = await admin.json<Device>('POST', `/api/devices/${j.deviceId}/recycle`, {
        agentId,
        reader: 'Encoder in Eve',
      });
      expect(rec.status, JSON.stringify(rec.body)).toBe(200);
      expect(rec.body.state).toBe('inventory');
      const certs = await admin.json<{ items: { status: string }[] }>(
        'GET',
        `/api/certificates?deviceId=${j.deviceId}`,
      );
      expect(certs.body.items.every((x) => x.status === 'revoked')).toBe(true);
      const audit = await admin.json<{ items: { action: string }[] }>(
        'GET',
        `/api/audit?targetType=device&targetId=${j.deviceId}&limit=50`,
      );
      expect(audit.body.items.map((a) => a.action)).toEqual(
        expect.arrayContaining([
          'issuance.encoded',
          'issuance.failed',
          'issuance.held_pending',
          'device.recycled',
        ]),
      );
    });

    it('the next issuance proposes the printer and encoder used last on this workstation', async () => {
      const v = await admin.json<{ proposed: { printerId: string; encoder: string } | null }>(
        'GET',
        '/api/printers',
      );
      expect(v.body.proposed).toEqual({ printerId: eveId, encoder: 'Encoder in Eve' });
      const put = await admin.json<{ proposed: unknown }>('PUT', '/api/printers/preference', {
        printerId: cupsId,
        encoder: 'Encoder in CUPS',
      });
      expect(put.status).toBe(200);
      expect(put.body.proposed).toEqual({ printerId: cupsId, encoder: 'Encoder in CUPS' });
    });

    type Request = {
      id: string;
      number: number;
      state: string;
      replacementDeviceId: string | null;
      waitingFor: string | null;
    };
    const activeCardOf = async (username: string) =>
      (
        await admin.json<{ items: Device[] }>('GET', `/api/users/${await idOf(username)}/devices`)
      ).body.items.find((d) => d.state === 'active')!;
    const request = async (id: string) => (await admin.json<Request>('GET', `/api/requests/${id}`)).body;
    /** A damaged card's replacement, issued and printed for its request, then Cancel at the print step. */
    async function printReplacementAndCancel(username: string, serial: string) {
      const original = await activeCardOf(username);
      const submitted = await admin.json<Request>('POST', `/api/devices/${original.id}/replacement`, {
        reason: 'damaged',
        workflow: 'local_issuance',
      });
      expect(submitted.status, JSON.stringify(submitted.body)).toBe(201);
      expect(submitted.body.state).toBe('approved');
      feed('Encoder in CUPS', serial);
      const r = await start(username, cupsId, 'Encoder in CUPS', submitted.body.id);
      expect(r.status, JSON.stringify(r.body)).toBe(202);
      const j = await settled(r.body.job.id);
      expect(j.status, JSON.stringify(j.error)).toBe('awaiting_confirmation');
      const c = await admin.json<Job>('POST', `/api/issuance/jobs/${j.id}/print/cancel`, {});
      expect(c.status, JSON.stringify(c.body)).toBe(200);
      expect((await device(j.deviceId)).state).toBe('pending');
      return { original, requestId: submitted.body.id, deviceId: j.deviceId };
    }

    it('a replacement printed and held back stays its request’s: activating it later completes the request', async () => {
      const { original, requestId, deviceId } = await printReplacementAndCancel('alice', '10000007');
      // Not lost, not completed: the request still names the pending card and waits for its activation.
      expect(await request(requestId)).toMatchObject({
        state: 'approved',
        replacementDeviceId: deviceId,
        waitingFor: 'activation',
      });
      expect((await device(original.id)).state).toBe('invalid');
      // Another card for the request is refused, and so is cancelling the request: the desk decides.
      feed('Encoder in CUPS', '10000008');
      const other = await start('alice', cupsId, 'Encoder in CUPS', requestId);
      expect(other.status).toBe(409);
      expect(JSON.stringify(other.body)).toMatch(/printed and not activated \(pending\): activate it/);
      const cancel = await admin.json('POST', `/api/requests/${requestId}/cancel`, {});
      expect(cancel.status).toBe(409);
      expect(JSON.stringify(cancel.body)).toMatch(/pending activation: activate it .* or recycle it/);

      // Activated on the User page: the request completes as Continue would have completed it.
      const act = await admin.json<Device>('POST', `/api/devices/${deviceId}/activate`, {});
      expect(act.status, JSON.stringify(act.body)).toBe(200);
      expect(act.body.state).toBe('active');
      expect(await request(requestId)).toMatchObject({ state: 'completed', waitingFor: null });
      expect((await device(original.id)).state).toBe('terminated');
      const old = await admin.json<{ items: { status: string }[] }>(
        'GET',
        `/api/certificates?deviceId=${original.id}`,
      );
      expect(old.body.items.length).toBeGreaterThan(0);
      expect(old.body.items.every((x) => x.status === 'revoked')).toBe(true);
      const audit = await admin.json<{ items: { action: string }[] }>(
        'GET',
        `/api/audit?targetType=request&targetId=${requestId}&limit=50`,
      );
      expect(audit.body.items.map((a) => a.action)).toEqual(
        expect.arrayContaining(['request.replacement_pending', 'request.completed']),
      );
    });

    it('a replacement held back and then recycled lets its request go, ready for another card', async () => {
      const { original, requestId, deviceId } = await printReplacementAndCancel('bob', '10000009');
      const rec = await admin.json<Device>('POST', `/api/devices/${deviceId}/recycle`, {
        agentId,
        reader: 'Encoder in CUPS',
      });
      expect(rec.status, JSON.stringify(rec.body)).toBe(200);
      expect(rec.body.state).toBe('inventory');
      expect(await request(requestId)).toMatchObject({
        state: 'approved',
        replacementDeviceId: null,
        waitingFor: 'issuance',
      });
      // Now the request can be cancelled: bob's card is back in service.
      const cancel = await admin.json<Request>('POST', `/api/requests/${requestId}/cancel`, {});
      expect(cancel.status, JSON.stringify(cancel.body)).toBe(200);
      expect((await device(original.id)).state).toBe('active');
    });

    it('a run whose attempt was failed elsewhere and retried (issue #20) does not encode or print attempt 2’s card', async () => {
      const card = demoCard(cardDir, '10000020');
      const transmit = card.transmit.bind(card);
      let bumped = false;
      // This server paused past its lease as the card gets its PIN (after its certificates): another
      // server's sweep failed attempt 1 and Retry started attempt 2 before this run goes on.
      card.transmit = async (apdu: Uint8Array) => {
        const cmd = decodeCommand(apdu);
        if (!bumped && cmd.ins === 0x24 && cmd.p2 === 0x80) {
          bumped = true;
          await srv.rt.db.query(
            `UPDATE issuance_jobs SET attempt = attempt + 1, progress = 0, step = '', error = NULL
              WHERE status = 'running' AND device_id = (SELECT id FROM devices WHERE serial = '10000020')`,
          );
        }
        return transmit(apdu);
      };
      readers.remove('Encoder in Eve');
      readers.insert('Encoder in Eve', card);
      const printedBefore = eve.jobs().length;
      const r = await start('bob', eveId, 'Encoder in Eve');
      expect(r.status, JSON.stringify(r.body)).toBe(202);
      await srv.rt.services.issuance.runner.settled(r.body.job.id);
      expect(bumped).toBe(true);
      const j = await job(r.body.job.id);
      expect(j).toMatchObject({ status: 'running', step: '', error: null });
      expect(j.print?.encoded).toBe(false);
      expect((await device(j.deviceId)).state).toBe('issuing');
      expect(eve.jobs()).toHaveLength(printedBefore);
      const audit = await srv.rt.db.query<{ action: string }>(
        `SELECT action FROM audit_events WHERE target_id = $1`,
        [j.deviceId],
      );
      expect(audit.map((a) => a.action)).not.toContain('issuance.encoded');
      expect(audit.map((a) => a.action)).not.toContain('issuance.printed');
      expect(audit.map((a) => a.action)).not.toContain('issuance.failed');
      // The certificates this run got are revoked by the run: none stays valid for attempt 2's card.
      const certs = await srv.rt.db.query<{ status: string }>(
        'SELECT status FROM certificates WHERE device_id = $1',
        [j.deviceId],
      );
      expect(certs.length).toBeGreaterThan(0);
      expect(certs.map((x) => x.status)).toEqual(certs.map(() => 'revoked'));
      // No one runs attempt 2 here: end it, so no later sweep finds it.
      await srv.rt.db.query(`UPDATE issuance_jobs SET status = 'failed', finished_at = now() WHERE id = $1`, [
        j.id,
      ]);
    });

    it('a run whose attempt a sweep ended after its card was encoded (issue #20) sends nothing to the printer', async () => {
      feed('Encoder in Eve', '10000021');
      const printing = (srv.rt.services.issuance.runner as unknown as { deps: { printing: CardPrinting } })
        .deps.printing;
      const render = printing.render;
      let swept = false;
      // This server paused past its lease while drawing the card: another server's sweep failed the
      // encoded attempt (a Retry there would print it again) before this run sends its print.
      printing.render = async (...args) => {
        swept = true;
        await srv.rt.db.query(
          `UPDATE issuance_jobs SET status = 'failed', finished_at = now(),
                  error = '{"code":"interrupted","message":"interrupted","correlationId":"c"}'::jsonb
            WHERE status = 'running' AND device_id = (SELECT id FROM devices WHERE serial = '10000021')`,
        );
        return render.apply(printing, args);
      };
      const printedBefore = eve.jobs().length;
      try {
        const r = await start('bob', eveId, 'Encoder in Eve');
        expect(r.status, JSON.stringify(r.body)).toBe(202);
        await srv.rt.services.issuance.runner.settled(r.body.job.id);
        expect(swept).toBe(true);
        const j = await job(r.body.job.id);
        expect(j).toMatchObject({ status: 'failed', error: { code: 'interrupted' } });
        expect(j.print).toMatchObject({ encoded: true, printJobId: null });
        // No IPP job: the printer got nothing from the stale run.
        expect(eve.jobs()).toHaveLength(printedBefore);
        const audit = await srv.rt.db.query<{ action: string }>(
          'SELECT action FROM audit_events WHERE target_id = $1',
          [j.deviceId],
        );
        expect(audit.map((a) => a.action)).toContain('issuance.encoded');
        expect(audit.map((a) => a.action)).not.toContain('issuance.printed');
      } finally {
        printing.render = render;
      }
    });
  },
);
