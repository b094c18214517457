import assert from 'node:assert/strict';
import { test } from 'node:test';
import { migrate } from '../../src/store/migrate.js';
import { testApp } from '../support/app.js';
import { describeEachDatabase } from '../support/databases.js';
import { logIn, nonce, sign, vectorKey } from '../support/signing.js';

// The NCA RK test keys of IIN 123456789011: a signing key valid 2021-01-18 to 2022-01-18 13:09,
// and an authentication key issued 2022-01-18 04:39:32 and revoked 100 seconds later. Between
// the two, both are good; NCA's test OCSP cannot be reached from here, so revocation is off.
const WINDOW = '2022-01-18T04:40:00.000Z';

describeEachDatabase('login with a real NCA RK test key', (fresh) => {
  test('registers with the test signing key and logs in with the test auth key', async () => {
    const db = await (await fresh()).open();
    await migrate(db);
    const { app, clock } = await testApp(db, { UPP_PKI_REVOCATION: 'none' }, WINDOW);
    const signing = vectorKey('individual_valid_sign_2004_rsa.p12', 'Qwerty12');
    const auth = vectorKey('individual_auth_revoked_2004.p12', 'Qwerty12');
    const payload = {
      action: 'participant.register',
      nonce: await nonce(app),
      participant: {
        kind: 'individual',
        iin: '123456789011',
        names: { kk: 'Тестов Тест', ru: 'Тестов Тест' },
        address: { kato: '711210000', text: 'Астана' },
        contacts: { email: 'test@example.kz' },
        roles: ['potential_supplier'],
      },
    };
    const registered = await app.inject({
      method: 'POST',
      url: '/api/v1/participants',
      payload: { payload, signature: sign(signing, payload, clock.now()) },
    });
    assert.equal(registered.statusCode, 201, registered.body);

    const token = await logIn(app, auth, clock.now());
    const me = await app.inject({
      url: '/api/v1/auth/me',
      headers: { authorization: `Bearer ${token}` },
    });
    assert.equal(me.json().iin, '123456789011');

    clock.set('2026-12-03T00:00:00.000Z');
    const challenge = (await app.inject({ method: 'POST', url: '/api/v1/auth/challenge' })).json();
    const late = await app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: {
        payload: challenge.payload,
        signature: sign(auth, challenge.payload, clock.now()),
      },
    });
    assert.equal(late.statusCode, 422);
    assert.equal(late.json().code, 'cert.expired');
  });
});
