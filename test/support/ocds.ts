// OCDS 1.1 checks for tests: the official release, release-package and record-package schemas
// (from ../shared/ocds-1.1) and the closed codelists every value a release carries must be in.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import AjvModule from 'ajv-draft-04';
import formatsModule from 'ajv-formats';
import { published } from '../../src/services/ocds.js';
import type { Release } from '../../src/services/ocds.js';

const OCDS = new URL('../../../shared/ocds-1.1/', import.meta.url);
const readJson = (name: string) => JSON.parse(readFileSync(new URL(name, OCDS), 'utf8'));

// Both packages are CommonJS whose typings name the export `default`.
const ajv = new AjvModule.default({ strict: false, allErrors: true });
formatsModule.default(ajv);
ajv.addSchema(readJson('release-schema.json'));
ajv.addSchema(readJson('versioned-release-validation-schema.json'));
export const validateRelease = ajv.getSchema(readJson('release-schema.json').id)!;
export const validateReleasePackage = ajv.compile(readJson('release-package-schema.json'));
export const validateRecordPackage = ajv.compile(readJson('record-package-schema.json'));

export function assertValid(validate: typeof validateRelease, value: unknown, what: string): void {
  assert.ok(validate(value), `${what}: ${JSON.stringify(validate.errors, null, 1)}`);
}

/** The `Code` column of a codelist CSV (quoted fields may hold commas). */
export function codelist(name: string): Set<string> {
  const lines = readFileSync(new URL(`codelists/${name}`, OCDS), 'utf8')
    .trim()
    .split('\n');
  const fields = (line: string) =>
    [...line.matchAll(/(?:^|,)("(?:[^"]|"")*"|[^,]*)/g)].map((m) => m[1]!.replace(/^"|"$/g, ''));
  const column = fields(lines[0]!).indexOf('Code');
  return new Set(lines.slice(1).map((line) => fields(line)[column]!));
}

export const CODES = {
  tag: codelist('releaseTag.csv'),
  awardStatus: codelist('awardStatus.csv'),
  tenderStatus: codelist('tenderStatus.csv'),
  method: codelist('method.csv'),
  documentType: codelist('documentType.csv'),
  currency: codelist('currency.csv'),
  partyRole: codelist('partyRole.csv'),
  category: codelist('procurementCategory.csv'),
};

export type Tender = {
  id: string;
  status: string;
  value: { amount: number; currency: string };
  procurementMethod: string;
  procurementMethodDetails: string;
  mainProcurementCategory?: string;
  tenderPeriod?: { startDate?: string; endDate?: string };
  enquiryPeriod?: { startDate?: string; endDate?: string };
  awardPeriod?: { startDate?: string; endDate?: string };
  items: {
    id: string;
    description: string;
    classification: { scheme: string; id: string };
    quantity: number;
    unit: { id: string; name?: string; value: { amount: number; currency: string } };
    deliveryAddress: { region?: string };
  }[];
  documents: { id: string; documentType: string; url: string; language: string }[];
  procuringEntity: { id: string };
};
export type Party = { id: string; roles: string[]; identifier: { scheme: string; id: string } };

export const tenderOf = (release: Release) => release.tender as unknown as Tender;
export const partiesOf = (release: Release) => release.parties as unknown as Party[];

/** Every codelist value a release carries is one of the standard's. */
export function assertCodelists(release: Release): void {
  const tender = tenderOf(release);
  for (const tag of release.tag) assert.ok(CODES.tag.has(tag), `tag ${tag}`);
  assert.ok(CODES.tenderStatus.has(tender.status), `tenderStatus ${tender.status}`);
  assert.ok(CODES.method.has(tender.procurementMethod), `method ${tender.procurementMethod}`);
  assert.ok(CODES.currency.has(tender.value.currency), `currency ${tender.value.currency}`);
  for (const item of tender.items) assert.ok(CODES.currency.has(item.unit.value.currency));
  for (const document of tender.documents) {
    assert.ok(CODES.documentType.has(document.documentType), document.documentType);
  }
  for (const party of partiesOf(release)) {
    for (const role of party.roles) assert.ok(CODES.partyRole.has(role), `role ${role}`);
  }
  if (tender.mainProcurementCategory !== undefined) {
    assert.ok(CODES.category.has(tender.mainProcurementCategory));
  }
  const awards = (release.awards ?? []) as unknown as { status: string; value?: Money }[];
  for (const award of awards) {
    assert.ok(CODES.awardStatus.has(award.status), `awardStatus ${award.status}`);
    if (award.value !== undefined) assert.ok(CODES.currency.has(award.value.currency));
  }
}

export const BASE = { publicBaseUrl: 'https://upp.example.kz' };

/** A release as readers get it, with the public address in front of its paths. */
export function assertValidRelease(release: Release, what: string): void {
  assertValid(validateRelease, published(release, BASE), what);
  assertCodelists(release);
}

type Money = { amount: number; currency: string };
