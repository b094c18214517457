import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { createDemoCa, revokeCertificate } from '../../src/pki/demo-ca.js';
import { grantAdministrator } from '../../src/services/participants.js';
import type { Database } from '../../src/store/database.js';
import { migrate } from '../../src/store/migrate.js';
import { linkAll } from '../support/audit.js';
import { testApp } from '../support/app.js';
import { describeEachDatabase } from '../support/databases.js';
import { legalEntity, registerCompany } from '../support/participants.js';
import { demoKey, logIn, newBin, newIin, nonce, sign } from '../support/signing.js';
import type { Key } from '../support/signing.js';

async function refusals(db: Database, action: string): Promise<string[]> {
  await linkAll(db);
  const rows = await db.query<{ details: { code: string } }>(
    'SELECT details FROM audit_log WHERE action = $1 ORDER BY seq',
    [`${action}.refused`],
  );
  return rows.rows.map((row) => row.details.code);
}

async function count(db: Database, table: string): Promise<number> {
  const rows = await db.query<{ n: bigint }>(`SELECT count(*) AS n FROM ${table}`);
  return Number(rows.rows[0]?.n);
}

function bearer(token: string) {
  return { authorization: `Bearer ${token}` };
}

async function signedPost(
  app: FastifyInstance,
  url: string,
  key: Key,
  token: string,
  payload: Record<string, unknown>,
  at: Date,
  method: 'POST' | 'PUT' = 'POST',
) {
  return app.inject({
    method,
    url,
    headers: bearer(token),
    payload: { payload, signature: sign(key, payload, at) },
  });
}

describeEachDatabase('participants and login', (fresh) => {
  const setup = async (env: Record<string, string> = {}) => {
    const db = await (await fresh()).open();
    await migrate(db);
    return { db, ...(await testApp(db, env)) };
  };

  for (const alg of ['rsa', 'gost2015'] as const) {
    test(`a legal entity registers by its first head and logs in (${alg})`, async () => {
      const t = await setup();
      const company = await registerCompany(t, alg);
      const me = await t.app.inject({ url: '/api/v1/auth/me', headers: bearer(company.token) });
      assert.equal(me.statusCode, 200);
      assert.equal(me.json().iin, company.headIin);
      assert.equal(me.json().actingParticipantId, company.participantId);

      const registry = await t.app.inject(`/api/v1/public/participants?q=${company.bin}`);
      assert.equal(registry.statusCode, 200);
      const [entry] = registry.json().items;
      assert.equal(entry.bin, company.bin);
      assert.deepEqual(entry.roles, ['customer', 'potential_supplier']);
      assert.equal(entry.bank, undefined, 'bank details are not public');
      assert.equal(entry.contacts, undefined, 'contacts are not public');

      const own = await t.app.inject({
        url: `/api/v1/participants/${company.participantId}`,
        headers: bearer(company.token),
      });
      assert.equal(own.statusCode, 200);
      assert.equal(own.json().bank.iban, 'KZ86125KZT5004100100');
      assert.equal(own.json().members[0].firstHead, true);
    });
  }

  test('the browser gets an HttpOnly, Secure, SameSite cookie that opens the session', async () => {
    const t = await setup();
    const company = await registerCompany(t);
    const challenge = await t.app.inject({ method: 'POST', url: '/api/v1/auth/challenge' });
    const { payload } = challenge.json();
    const response = await t.app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: { payload, signature: sign(company.head.auth, payload, t.clock.now()) },
    });
    const cookie = String(response.headers['set-cookie']);
    assert.match(cookie, /^upp_session=[A-Za-z0-9_-]{43};/);
    assert.match(cookie, /HttpOnly/);
    assert.match(cookie, /Secure/);
    assert.match(cookie, /SameSite=Strict/);
    const me = await t.app.inject({
      url: '/api/v1/auth/me',
      headers: { cookie: cookie.split(';')[0]! },
    });
    assert.equal(me.statusCode, 200);
  });

  test('a registration that fails a check stores nothing and leaves an audit entry', async () => {
    const t = await setup();
    const ca = t.pki.demoCa!;
    const bin = newBin();
    const iin = newIin();
    const headSign = demoKey(ca, { role: 'first_head', iin, bin, purpose: 'sign', alg: 'rsa' });
    const at = t.clock.now();
    const attempt = async (payload: ReturnType<typeof legalEntity>, key: Key) =>
      t.app.inject({
        method: 'POST',
        url: '/api/v1/participants',
        payload: { payload, signature: sign(key, payload, at) },
      });

    const badDigit = bin.slice(0, 11) + String((Number(bin[11]) + 1) % 10);
    const cases: [string, ReturnType<typeof legalEntity>, Key, number][] = [
      ['bin.invalid_check_digit', legalEntity(badDigit, await nonce(t.app)), headSign, 422],
      ['signer.wrong_bin', legalEntity(newBin(), await nonce(t.app)), headSign, 403],
      [
        'signer.role_missing',
        legalEntity(bin, await nonce(t.app)),
        demoKey(ca, { role: 'signing_right', iin, bin, purpose: 'sign', alg: 'gost2015' }),
        403,
      ],
      [
        'cert.wrong_purpose',
        legalEntity(bin, await nonce(t.app)),
        demoKey(ca, { role: 'first_head', iin, bin, purpose: 'auth', alg: 'rsa' }),
        422,
      ],
    ];
    for (const [code, payload, key, status] of cases) {
      const response = await attempt(payload, key);
      assert.equal(response.json().code, code, response.body);
      assert.equal(response.statusCode, status);
    }
    assert.equal(await count(t.db, 'participant'), 0);
    assert.equal(await count(t.db, 'signed_document'), 0);
    assert.deepEqual(
      await refusals(t.db, 'participant.register'),
      cases.map(([code]) => code),
    );
  });

  test('expired, revoked and untrusted certificates are refused with their own codes', async () => {
    const t = await setup();
    const ca = t.pki.demoCa!;
    const bin = newBin();
    const iin = newIin();
    const key = (validDays?: number) =>
      demoKey(ca, { role: 'first_head', iin, bin, purpose: 'sign', alg: 'rsa', validDays });
    const register = async (signer: Key) => {
      const payload = legalEntity(bin, await nonce(t.app));
      return t.app.inject({
        method: 'POST',
        url: '/api/v1/participants',
        payload: { payload, signature: sign(signer, payload, t.clock.now()) },
      });
    };

    const revoked = key();
    revokeCertificate(ca, revoked.certificate.serialHex, t.clock.now(), 'keyCompromise');
    t.clock.advance(1000);
    assert.equal((await register(revoked)).json().code, 'cert.revoked');

    const foreignDir = (await import('node:fs')).mkdtempSync('/tmp/upp-untrusted-ca-');
    const stranger = createDemoCa({ dir: foreignDir, clock: () => t.clock.now() });
    const untrusted = demoKey(stranger, {
      role: 'first_head',
      iin,
      bin,
      purpose: 'sign',
      alg: 'gost2015',
    });
    assert.equal((await register(untrusted)).json().code, 'cert.untrusted');

    const shortLived = key(1);
    t.clock.advance(2 * 24 * 3600 * 1000);
    assert.equal((await register(shortLived)).json().code, 'cert.expired');
    assert.equal(await count(t.db, 'participant'), 0);
    assert.deepEqual(await refusals(t.db, 'participant.register'), [
      'cert.revoked',
      'cert.untrusted',
      'cert.expired',
    ]);
  });

  test('a nonce serves once and for five minutes only', async () => {
    const t = await setup();
    const ca = t.pki.demoCa!;
    const bin = newBin();
    const iin = newIin();
    const key = demoKey(ca, { role: 'first_head', iin, bin, purpose: 'sign', alg: 'rsa' });
    const payload = legalEntity(bin, await nonce(t.app));
    const body = { payload, signature: sign(key, payload, t.clock.now()) };
    const url = '/api/v1/participants';
    assert.equal((await t.app.inject({ method: 'POST', url, payload: body })).statusCode, 201);
    const replay = await t.app.inject({ method: 'POST', url, payload: body });
    assert.equal(replay.json().code, 'nonce.unknown_or_used');

    const late = legalEntity(newBin(), await nonce(t.app));
    t.clock.advance(5 * 60 * 1000 + 1);
    const otherKey = demoKey(ca, {
      role: 'first_head',
      iin,
      bin: late.participant.bin,
      purpose: 'sign',
      alg: 'rsa',
    });
    const expired = await t.app.inject({
      method: 'POST',
      url,
      payload: { payload: late, signature: sign(otherKey, late, t.clock.now()) },
    });
    assert.equal(expired.json().code, 'nonce.expired');
  });

  test('a payload altered after signing is refused', async () => {
    const t = await setup();
    const ca = t.pki.demoCa!;
    const bin = newBin();
    const key = demoKey(ca, {
      role: 'first_head',
      iin: newIin(),
      bin,
      purpose: 'sign',
      alg: 'rsa',
    });
    const payload = legalEntity(bin, await nonce(t.app));
    const signature = sign(key, payload, t.clock.now());
    payload.participant.names.ru = 'ТОО «Другое»';
    const response = await t.app.inject({
      method: 'POST',
      url: '/api/v1/participants',
      payload: { payload, signature },
    });
    assert.equal(response.statusCode, 422);
    assert.equal(response.json().code, 'digest.mismatch');
  });

  test('login refuses a replayed challenge, a signing key and an unknown user', async () => {
    const t = await setup();
    const ca = t.pki.demoCa!;
    const company = await registerCompany(t);
    const challenge = (
      await t.app.inject({ method: 'POST', url: '/api/v1/auth/challenge' })
    ).json();
    const body = (key: Key) => ({
      payload: challenge.payload,
      signature: sign(key, challenge.payload, t.clock.now()),
    });
    const url = '/api/v1/auth/login';
    const bySignKey = await t.app.inject({ method: 'POST', url, payload: body(company.head.sign) });
    assert.equal(bySignKey.json().code, 'cert.wrong_purpose');
    const stranger = demoKey(ca, {
      role: 'individual',
      iin: newIin(),
      purpose: 'auth',
      alg: 'rsa',
    });
    const unknown = await t.app.inject({ method: 'POST', url, payload: body(stranger) });
    assert.equal(unknown.statusCode, 401);
    assert.equal(unknown.json().code, 'auth.unknown_user');
    const first = await t.app.inject({ method: 'POST', url, payload: body(company.head.auth) });
    assert.equal(first.statusCode, 200);
    const replay = await t.app.inject({ method: 'POST', url, payload: body(company.head.auth) });
    assert.equal(replay.json().code, 'nonce.unknown_or_used');

    const stale = (await t.app.inject({ method: 'POST', url: '/api/v1/auth/challenge' })).json();
    t.clock.advance(5 * 60 * 1000 + 1);
    const late = await t.app.inject({
      method: 'POST',
      url,
      payload: {
        payload: stale.payload,
        signature: sign(company.head.auth, stale.payload, t.clock.now()),
      },
    });
    assert.equal(late.json().code, 'nonce.expired');
    assert.deepEqual(await refusals(t.db, 'auth.login'), [
      'cert.wrong_purpose',
      'auth.unknown_user',
      'nonce.unknown_or_used',
      'nonce.expired',
    ]);
  });

  test('sessions are listed, ended one by one, and expire when idle or old', async () => {
    const t = await setup();
    const company = await registerCompany(t);
    const second = await logIn(t.app, company.head.auth, t.clock.now());
    const list = await t.app.inject({ url: '/api/v1/auth/sessions', headers: bearer(second) });
    assert.equal(list.json().length, 2);
    const other = list.json().find((s: { current: boolean }) => !s.current);
    const ended = await t.app.inject({
      method: 'DELETE',
      url: `/api/v1/auth/sessions/${other.id}`,
      headers: bearer(second),
    });
    assert.equal(ended.statusCode, 204);
    const gone = await t.app.inject({ url: '/api/v1/auth/me', headers: bearer(company.token) });
    assert.equal(gone.json().code, 'auth.required');

    t.clock.advance(29 * 60 * 1000);
    assert.equal(
      (await t.app.inject({ url: '/api/v1/auth/me', headers: bearer(second) })).statusCode,
      200,
    );
    t.clock.advance(31 * 60 * 1000);
    const idle = await t.app.inject({ url: '/api/v1/auth/me', headers: bearer(second) });
    assert.equal(idle.statusCode, 401);

    const third = await logIn(t.app, company.head.auth, t.clock.now());
    const logout = await t.app.inject({
      method: 'POST',
      url: '/api/v1/auth/logout',
      headers: bearer(third),
    });
    assert.equal(logout.statusCode, 204);
    assert.match(String(logout.headers['set-cookie']), /Max-Age=0/);
    assert.equal(
      (await t.app.inject({ url: '/api/v1/auth/me', headers: bearer(third) })).statusCode,
      401,
    );
  });

  test('the first head adds a user with rights; rights decide what the user may sign', async () => {
    const t = await setup();
    const ca = t.pki.demoCa!;
    const company = await registerCompany(t);
    const employeeIin = newIin();
    const employee = {
      sign: demoKey(ca, {
        role: 'signing_right',
        iin: employeeIin,
        bin: company.bin,
        purpose: 'sign',
        alg: 'gost2015',
      }),
      auth: demoKey(ca, {
        role: 'signing_right',
        iin: employeeIin,
        bin: company.bin,
        purpose: 'auth',
        alg: 'gost2015',
      }),
    };
    const membersUrl = `/api/v1/participants/${company.participantId}/members`;
    const add = {
      action: 'participant.member.add',
      nonce: await nonce(t.app),
      participantId: company.participantId,
      iin: employeeIin,
      fullName: 'Сапаров Ерлан',
      rights: ['sign_applications'],
    };
    const added = await signedPost(
      t.app,
      membersUrl,
      company.head.sign,
      company.token,
      add,
      t.clock.now(),
    );
    assert.equal(added.statusCode, 201, added.body);

    const employeeToken = await logIn(t.app, employee.auth, t.clock.now());
    const attempt = {
      ...add,
      nonce: await nonce(t.app),
      iin: newIin(),
      rights: [],
    };
    const refused = await signedPost(
      t.app,
      membersUrl,
      employee.sign,
      employeeToken,
      attempt,
      t.clock.now(),
    );
    assert.equal(refused.statusCode, 403);
    assert.equal(refused.json().code, 'signer.role_missing');

    const someoneElses = await signedPost(
      t.app,
      membersUrl,
      employee.sign,
      company.token,
      { ...attempt, nonce: await nonce(t.app) },
      t.clock.now(),
    );
    assert.equal(someoneElses.json().code, 'signer.not_session_user');

    const removal = {
      action: 'participant.member.remove',
      nonce: await nonce(t.app),
      participantId: company.participantId,
      iin: employeeIin,
    };
    const removed = await signedPost(
      t.app,
      `${membersUrl}/${employeeIin}/removal`,
      company.head.sign,
      company.token,
      removal,
      t.clock.now(),
    );
    assert.equal(removed.statusCode, 204, removed.body);
    const after = await t.app.inject({ url: '/api/v1/auth/me', headers: bearer(employeeToken) });
    assert.equal(after.statusCode, 401, "a removed user's sessions end");
  });

  test('a user granted manage_users may add users; without it they may not', async () => {
    const t = await setup();
    const ca = t.pki.demoCa!;
    const company = await registerCompany(t);
    const hrIin = newIin();
    const hr = {
      sign: demoKey(ca, { role: 'hr', iin: hrIin, bin: company.bin, purpose: 'sign', alg: 'rsa' }),
      auth: demoKey(ca, { role: 'hr', iin: hrIin, bin: company.bin, purpose: 'auth', alg: 'rsa' }),
    };
    const membersUrl = `/api/v1/participants/${company.participantId}/members`;
    const addHr = {
      action: 'participant.member.add',
      nonce: await nonce(t.app),
      participantId: company.participantId,
      iin: hrIin,
      fullName: 'Кадровик',
      rights: [],
    };
    const now = t.clock.now();
    await signedPost(t.app, membersUrl, company.head.sign, company.token, addHr, now);
    const hrToken = await logIn(t.app, hr.auth, now);
    const newcomer = { ...addHr, iin: newIin(), fullName: 'Новый', nonce: await nonce(t.app) };
    const denied = await signedPost(t.app, membersUrl, hr.sign, hrToken, newcomer, now);
    assert.equal(denied.json().code, 'signer.role_missing');
  });

  test('a person who heads two participants chooses whom they act for', async () => {
    const t = await setup();
    const ca = t.pki.demoCa!;
    const first = await registerCompany(t);
    const secondBin = newBin();
    const sign2 = demoKey(ca, {
      role: 'first_head',
      iin: first.headIin,
      bin: secondBin,
      purpose: 'sign',
      alg: 'gost2015',
    });
    const payload = legalEntity(secondBin, await nonce(t.app));
    const second = await t.app.inject({
      method: 'POST',
      url: '/api/v1/participants',
      payload: { payload, signature: sign(sign2, payload, t.clock.now()) },
    });
    assert.equal(second.statusCode, 201);
    const token = await logIn(t.app, first.head.auth, t.clock.now());
    const me = async () =>
      (await t.app.inject({ url: '/api/v1/auth/me', headers: bearer(token) })).json();
    assert.equal((await me()).actingParticipantId, null, 'two participants: the user chooses');

    const act = (participantId: string) =>
      t.app.inject({
        method: 'PUT',
        url: '/api/v1/auth/session/acting',
        headers: bearer(token),
        payload: { participantId },
      });
    assert.equal((await act(second.json().participantId)).statusCode, 204);
    assert.equal((await me()).actingParticipantId, second.json().participantId);
    const stranger = await registerCompany(t);
    const refused = await act(stranger.participantId);
    assert.equal(refused.json().code, 'access.not_member');
  });

  test('a branch links to its registered head organisation', async () => {
    const t = await setup();
    const ca = t.pki.demoCa!;
    const head = await registerCompany(t);
    const branchBin = newBin();
    const director = demoKey(ca, {
      role: 'first_head',
      iin: newIin(),
      bin: branchBin,
      purpose: 'sign',
      alg: 'gost2015',
    });
    const register = async (headBin: string) => {
      const payload = legalEntity(branchBin, await nonce(t.app), { kind: 'branch', headBin });
      return t.app.inject({
        method: 'POST',
        url: '/api/v1/participants',
        payload: { payload, signature: sign(director, payload, t.clock.now()) },
      });
    };
    const orphan = await register(newBin());
    assert.equal(orphan.json().code, 'participant.head_not_registered');
    const branch = await register(head.bin);
    assert.equal(branch.statusCode, 201);
    const row = await t.db.query<{ head_participant_id: string }>(
      'SELECT head_participant_id FROM participant WHERE id = $1',
      [branch.json().participantId],
    );
    assert.equal(row.rows[0]?.head_participant_id, head.participantId);
  });

  test('an individual entrepreneur registers with their own IIN and no other', async () => {
    const t = await setup();
    const ca = t.pki.demoCa!;
    const iin = newIin();
    const key = demoKey(ca, { role: 'individual', iin, purpose: 'sign', alg: 'gost2015' });
    const register = async (claimed: string) => {
      const payload = {
        action: 'participant.register',
        nonce: await nonce(t.app),
        participant: {
          kind: 'individual_entrepreneur',
          iin: claimed,
          names: { kk: 'ЖК Сапаров', ru: 'ИП Сапаров' },
          address: { kato: '711210000', text: 'Астана, Сарыарқа ауданы' },
          contacts: { phone: '+7 701 000 00 00' },
          roles: ['potential_supplier'],
        },
      };
      return t.app.inject({
        method: 'POST',
        url: '/api/v1/participants',
        payload: { payload, signature: sign(key, payload, t.clock.now()) },
      });
    };
    assert.equal((await register(newIin())).json().code, 'signer.wrong_iin');
    assert.equal((await register(iin)).statusCode, 201);
    const again = await register(iin);
    assert.equal(again.json().code, 'participant.already_registered');
  });

  test('an operator confirms a fee category; only then does the registry show it', async () => {
    const t = await setup();
    const ca = t.pki.demoCa!;
    const institution = await registerCompany(t);
    const bin = newBin();
    const iin = newIin();
    const sign2 = demoKey(ca, { role: 'first_head', iin, bin, purpose: 'sign', alg: 'rsa' });
    const payload = legalEntity(bin, await nonce(t.app), { categories: ['state_institution'] });
    const created = await t.app.inject({
      method: 'POST',
      url: '/api/v1/participants',
      payload: { payload, signature: sign(sign2, payload, t.clock.now()) },
    });
    const subjectId = created.json().participantId;
    const shown = async () =>
      (await t.app.inject(`/api/v1/public/participants/${subjectId}`)).json().categories;
    assert.deepEqual(await shown(), []);

    const adminIin = newIin();
    await grantAdministrator(t.db, t.clock, adminIin, 'Администратор МФ');
    const admin = {
      sign: demoKey(ca, { role: 'individual', iin: adminIin, purpose: 'sign', alg: 'rsa' }),
      auth: demoKey(ca, { role: 'individual', iin: adminIin, purpose: 'auth', alg: 'rsa' }),
    };
    const adminToken = await logIn(t.app, admin.auth, t.clock.now());
    const designate = {
      action: 'admin.operator.designate',
      nonce: await nonce(t.app),
      participantId: institution.participantId,
      role: 'single_operator',
    };
    const refusedDesignation = await signedPost(
      t.app,
      '/api/v1/admin/operators',
      institution.head.sign,
      institution.token,
      designate,
      t.clock.now(),
    );
    assert.equal(refusedDesignation.json().code, 'access.not_administrator');
    const designated = await signedPost(
      t.app,
      '/api/v1/admin/operators',
      admin.sign,
      adminToken,
      { ...designate, nonce: await nonce(t.app) },
      t.clock.now(),
    );
    assert.equal(designated.statusCode, 204, designated.body);

    const decision = {
      action: 'operator.category.decide',
      nonce: await nonce(t.app),
      operatorId: institution.participantId,
      participantId: subjectId,
      category: 'state_institution',
      decision: 'confirmed',
    };
    const decided = await signedPost(
      t.app,
      '/api/v1/operator/category-decisions',
      institution.head.sign,
      institution.token,
      decision,
      t.clock.now(),
    );
    assert.equal(decided.statusCode, 204, decided.body);
    assert.deepEqual(await shown(), ['state_institution']);

    const stranger = await t.app.inject({
      url: `/api/v1/participants/${subjectId}`,
      headers: bearer(adminToken),
    });
    assert.equal(stranger.statusCode, 200, 'administrators see private details');
  });

  test('private details are refused to other participants and to anonymous callers', async () => {
    const t = await setup();
    const first = await registerCompany(t);
    const second = await registerCompany(t, 'gost2015');
    const url = `/api/v1/participants/${first.participantId}`;
    const other = await t.app.inject({ url, headers: bearer(second.token) });
    assert.equal(other.statusCode, 403);
    assert.equal(other.json().code, 'access.denied');
    const anonymous = await t.app.inject(url);
    assert.equal(anonymous.statusCode, 401);
  });

  test('the public registry pages with a cursor and filters by role', async () => {
    const t = await setup();
    for (let i = 0; i < 3; i += 1) {
      await registerCompany(t);
      t.clock.advance(1000);
    }
    const first = await t.app.inject('/api/v1/public/participants?limit=2');
    assert.equal(first.json().items.length, 2);
    const next = await t.app.inject(
      `/api/v1/public/participants?limit=2&cursor=${first.json().nextCursor}`,
    );
    assert.equal(next.json().items.length, 1);
    const ids = [...first.json().items, ...next.json().items].map((p: { id: string }) => p.id);
    assert.equal(new Set(ids).size, 3);
    const organizers = await t.app.inject('/api/v1/public/participants?role=organizer');
    assert.equal(organizers.json().items.length, 0);
    const bad = await t.app.inject('/api/v1/public/participants?cursor=bm9wZQ');
    assert.equal(bad.json().code, 'request.invalid_cursor');
  });
});
