// A registered legal entity with a logged-in first head, as most HTTP tests need one.
import assert from 'node:assert/strict';
import type { TestApp } from './app.js';
import { demoKey, logIn, newBin, newIin, nonce, sign } from './signing.js';
import type { Key } from './signing.js';

/** The registration payload of a legal entity; `extra` overrides fields of `participant`. */
export function legalEntity(bin: string, value: string, extra: Record<string, unknown> = {}) {
  return {
    action: 'participant.register',
    nonce: value,
    participant: {
      kind: 'legal_entity',
      bin,
      names: { kk: '«Тест Құрылыс» ЖШС', ru: 'ТОО «Тест Строй»' },
      address: { kato: '751110000', text: 'Алматы қ., Абай даңғылы, 1' },
      bank: { iban: 'KZ86125KZT5004100100', bic: 'KCJBKZKX' },
      contacts: { email: 'info@test-stroy.kz', phone: '+7 727 000 00 00' },
      roles: ['customer', 'potential_supplier'],
      ...extra,
    },
  };
}

export interface Company {
  bin: string;
  headIin: string;
  head: { sign: Key; auth: Key };
  participantId: string;
  /** Bearer token of the first head's session. */
  token: string;
}

export async function registerCompany(
  t: TestApp,
  alg: 'rsa' | 'gost2015' = 'rsa',
): Promise<Company> {
  const ca = t.pki.demoCa!;
  const bin = newBin();
  const headIin = newIin();
  const head = {
    sign: demoKey(ca, { role: 'first_head', iin: headIin, bin, purpose: 'sign', alg }),
    auth: demoKey(ca, { role: 'first_head', iin: headIin, bin, purpose: 'auth', alg }),
  };
  const payload = legalEntity(bin, await nonce(t.app));
  const response = await t.app.inject({
    method: 'POST',
    url: '/api/v1/participants',
    payload: { payload, signature: sign(head.sign, payload, t.clock.now()) },
  });
  assert.equal(response.statusCode, 201, response.body);
  const token = await logIn(t.app, head.auth, t.clock.now());
  return { bin, headIin, head, participantId: response.json().participantId, token };
}
