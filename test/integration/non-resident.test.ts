import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { buildCertificate } from '../../src/pki/certificate-builder.js';
import { createDemoCa } from '../../src/pki/demo-ca.js';
import type { DemoCa } from '../../src/pki/demo-ca.js';
import { generatePrivateKey, subjectPublicKeyInfo } from '../../src/pki/keys.js';
import { migrate } from '../../src/store/migrate.js';
import { testApp } from '../support/app.js';
import { describeEachDatabase } from '../support/databases.js';
import { logIn, nonce, sign } from '../support/signing.js';
import type { Key } from '../support/signing.js';

const START = '2026-03-02T04:00:00.000Z';

/** A foreign (EAEU) CA outside the platform's trust, and a person's key from it: no IIN. */
function foreignKey(ca: DemoCa, purpose: 'sign' | 'auth', now: Date): Key {
  const issuing = ca.cas.rsa;
  const privateKey = generatePrivateKey('rsa');
  const certificate = buildCertificate(
    {
      serial: new Uint8Array([0x42, purpose === 'sign' ? 1 : 2, now.getUTCSeconds()]),
      subject: [
        ['CN', 'IVANOV IVAN'],
        ['SERIALNUMBER', 'RU7701234567'],
        ['C', 'RU'],
        ['O', 'OOO Romashka'],
      ],
      notBefore: now,
      notAfter: new Date(now.getTime() + 365 * 24 * 3600 * 1000),
      publicKey: subjectPublicKeyInfo(privateKey),
      keyUsage: purpose === 'sign' ? ['digitalSignature', 'nonRepudiation'] : ['digitalSignature'],
      extKeyUsage: [purpose === 'sign' ? '1.3.6.1.5.5.7.3.4' : '1.3.6.1.5.5.7.3.2'],
    },
    { privateKey: issuing.issuingKey, certificate: issuing.issuing },
  );
  return { certificate, privateKey, chain: [issuing.issuing, issuing.root] };
}

describeEachDatabase('non-resident participants', (fresh) => {
  test('a non-resident registers with a foreign certificate the TTP confirms', async () => {
    const foreign = createDemoCa({
      dir: mkdtempSync(join(tmpdir(), 'upp-foreign-ca-')),
      clock: () => new Date(START),
    });
    const db = await (await fresh()).open();
    await migrate(db);
    const confirmed = { UPP_PKI_TTP_CONFIRMED_CAS: foreign.cas.rsa.root.fingerprintSha256 };
    const { app, clock } = await testApp(db, confirmed, START);
    const signing = foreignKey(foreign, 'sign', clock.now());
    const auth = foreignKey(foreign, 'auth', clock.now());
    const register = async () => {
      const payload = {
        action: 'participant.register',
        nonce: await nonce(app),
        participant: {
          kind: 'non_resident',
          foreignRegistration: '7701234567',
          country: 'RU',
          names: { kk: '«Ромашка» ЖШҚ', ru: 'ООО «Ромашка»' },
          address: { kato: '000000000', text: 'Москва, ул. Тверская, 1' },
          contacts: { email: 'office@romashka.ru' },
          roles: ['potential_supplier'],
        },
      };
      return app.inject({
        method: 'POST',
        url: '/api/v1/participants',
        payload: { payload, signature: sign(signing, payload, clock.now()) },
      });
    };
    const registered = await register();
    assert.equal(registered.statusCode, 201, registered.body);
    const token = await logIn(app, auth, clock.now());
    const me = await app.inject({
      url: '/api/v1/auth/me',
      headers: { authorization: `Bearer ${token}` },
    });
    assert.equal(me.json().iin, null);
    assert.match(me.json().identity, /^subject:[0-9a-f]{64}$/);
    assert.equal(me.json().actingParticipantId, registered.json().participantId);

    const unconfirmed = await testApp(db, {}, START);
    const payload = {
      action: 'participant.register',
      nonce: await nonce(unconfirmed.app),
      participant: {
        kind: 'non_resident',
        foreignRegistration: '7709999999',
        country: 'RU',
        names: { kk: 'Басқа', ru: 'Другое' },
        address: { kato: '000000000', text: 'Москва' },
        contacts: {},
        roles: ['potential_supplier'],
      },
    };
    const refused = await unconfirmed.app.inject({
      method: 'POST',
      url: '/api/v1/participants',
      payload: { payload, signature: sign(signing, payload, clock.now()) },
    });
    assert.equal(refused.json().code, 'cert.untrusted');
  });
});
