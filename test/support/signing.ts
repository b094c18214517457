// Keys from the demo CA and signatures over canonical payloads, as a participant's software would
// make them (NCALayer gives the same CMS).
import { readFileSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import { canonicalJson } from '../../src/domain/canonical-json.js';
import { checkDigit } from '../../src/domain/identity.js';
import type { Certificate } from '../../src/pki/certificate.js';
import { signCms } from '../../src/pki/cms-sign.js';
import { issueCertificate } from '../../src/pki/demo-ca.js';
import type { DemoAlgorithm, DemoCa, DemoRole } from '../../src/pki/demo-ca.js';
import type { PrivateKey } from '../../src/pki/keys.js';
import { openPkcs12 } from '../../src/pki/pkcs12.js';

export interface Key {
  certificate: Certificate;
  privateKey: PrivateKey;
  chain: Certificate[];
}

let serial = 0;

/** A valid 12-digit number: the given prefix, a running serial and the check digit. */
export function withCheckDigit(prefix: string): string {
  for (;;) {
    serial += 1;
    const first11 = prefix + String(serial).padStart(11 - prefix.length, '0');
    const digit = checkDigit(first11);
    if (digit !== null) return first11 + String(digit);
  }
}

export const newIin = () => withCheckDigit('8704123');
export const newBin = () => withCheckDigit('2103400');

export function demoKey(
  ca: DemoCa,
  request: {
    role: DemoRole;
    iin: string;
    bin?: string;
    purpose: 'sign' | 'auth';
    alg: DemoAlgorithm;
    validDays?: number;
  },
): Key {
  const issued = issueCertificate(ca, {
    ...request,
    org: request.bin === undefined ? undefined : `ТОО «Тест ${request.bin}»`,
    names: { surname: 'Сапаров', firstName: 'Ерлан', patronymic: 'Маратұлы' },
    password: 'demo-password',
  });
  const material = ca.cas[request.alg];
  return {
    certificate: issued.certificate,
    privateKey: issued.privateKey,
    chain: [material.issuing, material.root],
  };
}

export function vectorKey(file: string, password: string): Key {
  const path = new URL(`../../../shared/kz-eds-vectors/p12/ncanode/${file}`, import.meta.url);
  const opened = openPkcs12(new Uint8Array(readFileSync(path)), password);
  return { certificate: opened.certificate, privateKey: opened.privateKey, chain: opened.chain };
}

/** CMS over the RFC 8785 form of the payload, base64, detached unless asked otherwise. */
export function sign(
  key: Key,
  payload: Record<string, unknown>,
  at: Date,
  options: { detached?: boolean } = {},
): string {
  const content = new TextEncoder().encode(canonicalJson(payload));
  const cms = signCms({
    content,
    detached: options.detached ?? true,
    signers: [{ privateKey: key.privateKey, certificate: key.certificate, chain: key.chain }],
    signingTime: at,
  });
  return Buffer.from(cms).toString('base64');
}

export async function nonce(app: FastifyInstance): Promise<string> {
  const response = await app.inject({ method: 'POST', url: '/api/v1/auth/nonce' });
  return (response.json() as { nonce: string }).nonce;
}

/** Logs in with an authentication key; returns the bearer token. */
export async function logIn(app: FastifyInstance, key: Key, at: Date): Promise<string> {
  const challenge = await app.inject({ method: 'POST', url: '/api/v1/auth/challenge' });
  const { payload } = challenge.json() as { payload: Record<string, unknown> };
  const response = await app.inject({
    method: 'POST',
    url: '/api/v1/auth/login',
    payload: { payload, signature: sign(key, payload, at) },
  });
  if (response.statusCode !== 200) {
    throw new Error(`login failed: ${response.statusCode} ${response.body}`);
  }
  return (response.json() as { token: string }).token;
}
