// Procurement methods as data: per regime, a row of flags and durations and a status machine that
// the chronograph and the API both read. Code asks the table; it never branches on a method name.

export type Regime = 'public' | 'quasi_public';
export const REGIMES: readonly Regime[] = ['public', 'quasi_public'];

export type MethodCode =
  'tender' | 'rating_tender' | 'turnkey_tender' | 'auction' | 'price_request' | 'single_source';
export const METHOD_CODES: readonly MethodCode[] = [
  'tender',
  'rating_tender',
  'turnkey_tender',
  'auction',
  'price_request',
  'single_source',
];

export type ProcurementStatus =
  | 'draft'
  | 'published'
  | 'accepting'
  | 'awaiting_agreement'
  | 'review'
  | 'auction_pending'
  | 'results'
  | 'completed'
  | 'cancelled'
  | 'refused'
  | 'appeal';
export const PROCUREMENT_STATUSES: readonly ProcurementStatus[] = [
  'draft',
  'published',
  'accepting',
  'awaiting_agreement',
  'review',
  'auction_pending',
  'results',
  'completed',
  'cancelled',
  'refused',
  'appeal',
];

/** A length of time in the rules' own unit. */
export interface Duration {
  n: number;
  unit: 'working_days' | 'days';
}

/** The instants a procurement's schedule names; a transition fires when its instant is due. */
export type ScheduleMark = 'discussionEndsAt' | 'offersEndAt' | 'reviewEndsAt';
export const SCHEDULE_MARKS: readonly ScheduleMark[] = [
  'discussionEndsAt',
  'offersEndAt',
  'reviewEndsAt',
];

/** What moves a procurement on: a signed action by a person, or an instant of its schedule. */
export type Trigger =
  | {
      action: 'publish' | 'cancel' | 'refuse' | 'complete' | 'appeal' | 'appeal_closed' | 'reopen';
    }
  | { at: ScheduleMark };

export interface Transition {
  from: ProcurementStatus;
  to: ProcurementStatus;
  on: Trigger;
}

export interface Titles {
  kk: string;
  ru: string;
  en: string;
}

export interface ProcurementMethod {
  code: MethodCode;
  regime: Regime;
  titles: Titles;
  /** Customers may comment on the documentation for this long after publication. */
  discussion: Duration | undefined;
  /** Applications or price offers are accepted for at least this long after publication. */
  acceptance: Duration | undefined;
  /** Review of applications and the results take at most this long after the deadline. */
  review: Duration | undefined;
  /** Application security in basis points of the lot amount (100 = 1%). */
  securityBasisPoints: number;
  /** A ceiling on the procurement's amount, in MRP of its year. */
  maxMrp: number | undefined;
  goodsOnly: boolean;
  oneLot: boolean;
  hasAuction: boolean;
  /** The customer invites one supplier, who answers with an agreement to participate. */
  invitation: boolean;
  /** Evaluation is computed by the platform without a commission. */
  automaticEvaluation: boolean;
  /** Offers are ranked by the conditional price of the tender criteria, not by the price. */
  conditionalPrice: boolean;
  transitions: readonly Transition[];
}

const publish = (to: ProcurementStatus): Transition => ({
  from: 'draft',
  to,
  on: { action: 'publish' },
});

/**
 * Cancellation before the deadline and refusal before the results, as the rules allow both; and
 * the reopening of acceptance that closed during a declared outage of the portal.
 */
function endings(open: readonly ProcurementStatus[]): Transition[] {
  const accepting = open[open.length - 1]!;
  return [
    { from: 'review', to: accepting, on: { action: 'reopen' } },
    ...open.map((from): Transition => ({ from, to: 'cancelled', on: { action: 'cancel' } })),
    ...[...open, 'review' as const].map((from): Transition => ({
      from,
      to: 'refused',
      on: { action: 'refuse' },
    })),
    { from: 'results', to: 'appeal', on: { action: 'appeal' } },
    { from: 'appeal', to: 'results', on: { action: 'appeal_closed' } },
    { from: 'results', to: 'completed', on: { action: 'complete' } },
  ];
}

const WD = (n: number): Duration => ({ n, unit: 'working_days' });

const TENDER_FLOW: readonly Transition[] = [
  publish('published'),
  { from: 'published', to: 'accepting', on: { at: 'discussionEndsAt' } },
  { from: 'accepting', to: 'review', on: { at: 'offersEndAt' } },
  { from: 'review', to: 'results', on: { at: 'reviewEndsAt' } },
  ...endings(['published', 'accepting']),
];

const AUCTION_FLOW: readonly Transition[] = [
  publish('published'),
  { from: 'published', to: 'accepting', on: { at: 'discussionEndsAt' } },
  { from: 'accepting', to: 'review', on: { at: 'offersEndAt' } },
  { from: 'review', to: 'auction_pending', on: { at: 'reviewEndsAt' } },
  { from: 'auction_pending', to: 'results', on: { action: 'complete' } },
  ...endings(['published', 'accepting']),
  { from: 'auction_pending', to: 'refused', on: { action: 'refuse' } },
];

const PRICE_REQUEST_FLOW: readonly Transition[] = [
  publish('accepting'),
  { from: 'accepting', to: 'review', on: { at: 'offersEndAt' } },
  { from: 'review', to: 'results', on: { at: 'reviewEndsAt' } },
  ...endings(['accepting']),
];

const SINGLE_SOURCE_FLOW: readonly Transition[] = [
  publish('awaiting_agreement'),
  { from: 'awaiting_agreement', to: 'review', on: { at: 'offersEndAt' } },
  { from: 'review', to: 'results', on: { at: 'reviewEndsAt' } },
  ...endings(['awaiting_agreement']),
];

interface MethodRow extends Omit<ProcurementMethod, 'regime'> {
  regimes: readonly Regime[];
}

const METHOD_ROWS: readonly MethodRow[] = [
  {
    code: 'tender',
    regimes: REGIMES,
    titles: { kk: 'Конкурс', ru: 'Конкурс', en: 'Tender' },
    discussion: WD(2),
    acceptance: WD(5),
    review: WD(3),
    securityBasisPoints: 100,
    maxMrp: undefined,
    goodsOnly: false,
    oneLot: false,
    hasAuction: false,
    invitation: false,
    automaticEvaluation: false,
    conditionalPrice: true,
    transitions: TENDER_FLOW,
  },
  {
    code: 'rating_tender',
    regimes: ['public'],
    titles: {
      kk: 'Рейтингтік-балдық жүйе бойынша конкурс',
      ru: 'Конкурс с использованием рейтингово-балльной системы',
      en: 'Rating-point tender',
    },
    discussion: WD(2),
    acceptance: WD(5),
    review: WD(5),
    securityBasisPoints: 100,
    maxMrp: undefined,
    goodsOnly: false,
    oneLot: false,
    hasAuction: false,
    invitation: false,
    automaticEvaluation: true,
    conditionalPrice: true,
    transitions: TENDER_FLOW,
  },
  {
    code: 'turnkey_tender',
    regimes: ['public'],
    titles: {
      kk: '«Кілтін тапсыру» құрылысы бойынша конкурс',
      ru: 'Конкурс на строительство «под ключ»',
      en: 'Turnkey construction tender',
    },
    discussion: WD(2),
    acceptance: WD(5),
    review: WD(3),
    securityBasisPoints: 300,
    maxMrp: undefined,
    goodsOnly: false,
    oneLot: false,
    hasAuction: false,
    invitation: false,
    automaticEvaluation: false,
    conditionalPrice: true,
    transitions: TENDER_FLOW,
  },
  {
    code: 'auction',
    regimes: REGIMES,
    titles: { kk: 'Аукцион', ru: 'Аукцион', en: 'Auction' },
    discussion: WD(2),
    acceptance: WD(5),
    review: WD(3),
    securityBasisPoints: 100,
    maxMrp: undefined,
    goodsOnly: true,
    oneLot: true,
    hasAuction: true,
    invitation: false,
    automaticEvaluation: false,
    conditionalPrice: false,
    transitions: AUCTION_FLOW,
  },
  {
    code: 'price_request',
    regimes: REGIMES,
    titles: {
      kk: 'Баға ұсыныстарын сұрату',
      ru: 'Запрос ценовых предложений',
      en: 'Request for price offers',
    },
    discussion: undefined,
    acceptance: { n: 2, unit: 'days' },
    review: WD(3),
    securityBasisPoints: 300,
    maxMrp: 8000,
    goodsOnly: false,
    oneLot: false,
    hasAuction: false,
    invitation: false,
    automaticEvaluation: true,
    conditionalPrice: false,
    transitions: PRICE_REQUEST_FLOW,
  },
  {
    code: 'single_source',
    regimes: REGIMES,
    titles: { kk: 'Бір көзден алу', ru: 'Из одного источника', en: 'Single source' },
    discussion: undefined,
    acceptance: WD(5),
    review: WD(3),
    securityBasisPoints: 0,
    maxMrp: undefined,
    goodsOnly: false,
    oneLot: false,
    hasAuction: false,
    invitation: true,
    automaticEvaluation: true,
    conditionalPrice: false,
    transitions: SINGLE_SOURCE_FLOW,
  },
];

/** Every method of every regime, as rows; an operator table may replace it. */
export const PROCUREMENT_METHODS: readonly ProcurementMethod[] = METHOD_ROWS.flatMap(
  ({ regimes, ...row }) => regimes.map((regime) => ({ ...row, regime })),
);

export const STATUS_TITLES: Readonly<Record<ProcurementStatus, Titles>> = {
  draft: { kk: 'Жоба', ru: 'Проект', en: 'Draft' },
  published: { kk: 'Жарияланды', ru: 'Опубликовано', en: 'Published' },
  accepting: { kk: 'Өтінімдер қабылдау', ru: 'Прием заявок', en: 'Accepting applications' },
  awaiting_agreement: {
    kk: 'Қатысуға келісім күтілуде',
    ru: 'Ожидание согласия на участие',
    en: 'Awaiting agreement to participate',
  },
  review: { kk: 'Өтінімдерді қарау', ru: 'Рассмотрение заявок', en: 'Review of applications' },
  auction_pending: { kk: 'Аукцион күтілуде', ru: 'Ожидание аукциона', en: 'Waiting for auction' },
  results: { kk: 'Қорытындылар', ru: 'Итоги', en: 'Results' },
  completed: { kk: 'Аяқталды', ru: 'Завершено', en: 'Completed' },
  cancelled: { kk: 'Күшін жойды', ru: 'Отменено', en: 'Cancelled' },
  refused: { kk: 'Бас тартылды', ru: 'Отказ от закупки', en: 'Refused' },
  appeal: { kk: 'Шағымдануда', ru: 'На обжаловании', en: 'Under appeal' },
};

export const REGIME_TITLES: Readonly<Record<Regime, Titles>> = {
  public: { kk: 'Мемлекеттік сатып алу', ru: 'Государственные закупки', en: 'Public procurement' },
  quasi_public: {
    kk: 'Квазимемлекеттік сектор сатып алуы',
    ru: 'Закупки квазигосударственного сектора',
    en: 'Quasi-public procurement',
  },
};

/** The row of a method in a regime, or undefined when the regime does not have that method. */
export function methodOf(
  regime: Regime,
  code: string,
  methods: readonly ProcurementMethod[] = PROCUREMENT_METHODS,
): ProcurementMethod | undefined {
  return methods.find((method) => method.regime === regime && method.code === code);
}

function sameTrigger(a: Trigger, b: Trigger): boolean {
  return 'at' in a ? 'at' in b && a.at === b.at : 'action' in b && a.action === b.action;
}

/** Where `trigger` takes a procurement in `status`, or undefined when the machine forbids it. */
export function nextStatus(
  method: ProcurementMethod,
  status: ProcurementStatus,
  trigger: Trigger,
): ProcurementStatus | undefined {
  return method.transitions.find((t) => t.from === status && sameTrigger(t.on, trigger))?.to;
}

/** The schedule instants that can move a procurement on from `status`. */
export function marksFrom(method: ProcurementMethod, status: ProcurementStatus): ScheduleMark[] {
  return method.transitions.flatMap((t) => (t.from === status && 'at' in t.on ? [t.on.at] : []));
}

/** Statuses of a procurement that ended without buying: its plan items are free again. */
export const ENDED_UNBOUGHT: readonly ProcurementStatus[] = ['cancelled', 'refused'];

export function isOpenForOffers(status: ProcurementStatus): boolean {
  return status === 'published' || status === 'accepting' || status === 'awaiting_agreement';
}

export function isVisibleToPublic(status: ProcurementStatus): boolean {
  return status !== 'draft';
}
