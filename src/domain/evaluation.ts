// Evaluation of offers: a tender's conditional price is the offered price reduced by the
// discounts its qualification claims earn (a table, as data), the lowest conditional price wins,
// and a tie goes to the earlier receipt. Requests for price offers and auctions use the price.

/** One criterion of the tender table: what the application claims and what it is worth. */
export interface Criterion {
  code: string;
  titles: { kk: string; ru: string; en: string };
  /** Discount in basis points of the price for a claim of `true`, or per unit of a number. */
  basisPoints: number;
  /** For a numeric claim (years of experience), the most units that count. */
  maxUnits?: number;
}

/** The default table; an operator may replace it. The total discount is capped. */
export const TENDER_CRITERIA: readonly Criterion[] = [
  {
    code: 'domestic_producer',
    titles: {
      kk: 'Отандық тауар өндіруші',
      ru: 'Отечественный товаропроизводитель',
      en: 'Domestic producer',
    },
    basisPoints: 2000,
  },
  {
    code: 'experience_years',
    titles: { kk: 'Жұмыс тәжірибесі', ru: 'Опыт работы', en: 'Years of experience' },
    basisPoints: 100,
    maxUnits: 5,
  },
  {
    code: 'taxes_paid',
    titles: { kk: 'Төленген салықтар', ru: 'Уплаченные налоги', en: 'Taxes paid' },
    basisPoints: 100,
  },
  {
    code: 'local_presence',
    titles: {
      kk: 'Жеткізу орнында болуы',
      ru: 'Присутствие в месте поставки',
      en: 'Presence at the place of delivery',
    },
    basisPoints: 100,
  },
  {
    code: 'audited_statements',
    titles: {
      kk: 'Аудиттелген қаржылық есептілік',
      ru: 'Аудированная финансовая отчетность',
      en: 'Audited financial statements',
    },
    basisPoints: 50,
  },
];

export const MAX_DISCOUNT_BASIS_POINTS = 3000;

export type Claims = Readonly<Record<string, unknown>>;

/** The discount a set of claims earns under `criteria`, in basis points, capped. */
export function discountBasisPoints(
  claims: Claims,
  criteria: readonly Criterion[] = TENDER_CRITERIA,
): number {
  let total = 0;
  for (const criterion of criteria) {
    const claim = claims[criterion.code];
    if (claim === true) total += criterion.basisPoints;
    if (typeof claim === 'number' && Number.isFinite(claim) && claim > 0) {
      const units = Math.min(Math.floor(claim), criterion.maxUnits ?? 1);
      total += units * criterion.basisPoints;
    }
  }
  return Math.min(total, MAX_DISCOUNT_BASIS_POINTS);
}

/** price x (1 - discount), rounded half up to the tiyn. */
export function conditionalPrice(price: bigint, discount: number): bigint {
  const kept = BigInt(10_000 - discount);
  return (price * kept + 5_000n) / 10_000n;
}

export interface Candidate {
  applicationId: string;
  price: bigint;
  conditionalPrice: bigint;
  receivedAt: Date;
}

/** Candidates from best to worst: lower conditional price, then earlier receipt, then id. */
export function rank(candidates: readonly Candidate[]): Candidate[] {
  return [...candidates].sort(
    (a, b) =>
      (a.conditionalPrice < b.conditionalPrice
        ? -1
        : a.conditionalPrice > b.conditionalPrice
          ? 1
          : 0) ||
      a.receivedAt.getTime() - b.receivedAt.getTime() ||
      a.applicationId.localeCompare(b.applicationId),
  );
}
