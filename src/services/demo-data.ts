// Demo procurements for an empty database: a seeded, reproducible set of Kazakh customers, plans
// and announcements whose statuses follow the schedule rules; the benchmark streams the same rows.
import { checkDigit } from '../domain/identity.js';
import type { WorkingCalendar } from '../domain/calendar.js';
import { MRP_BY_YEAR, mrpAmount } from '../domain/money.js';
import { PROCUREMENT_METHODS, methodOf, nextStatus } from '../domain/procurement-methods.js';
import type {
  MethodCode,
  ProcurementMethod,
  ProcurementStatus,
  Regime,
  Titles,
} from '../domain/procurement-methods.js';
import { minimumSchedule, nextCheck } from '../domain/procurement-schedule.js';
import type { Schedule } from '../domain/procurement-schedule.js';
import {
  addCalendarDays,
  astanaInstant,
  astanaLocalDate,
  astanaOffsetMinutes,
} from '../domain/time.js';
import type { OffsetAt } from '../domain/time.js';
import type { Database, Queryable } from '../store/database.js';

/** mulberry32: tiny, fast and good enough to make the same demo from the same seed. */
export class DemoRandom {
  #state: number;

  constructor(seed: number) {
    this.#state = seed >>> 0;
  }

  next(): number {
    this.#state = (this.#state + 0x6d2b79f5) >>> 0;
    let t = this.#state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** An integer from min to max, both included. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    const item = items[Math.floor(this.next() * items.length)];
    if (item === undefined) throw new Error('pick from an empty list');
    return item;
  }

  weighted<T>(items: readonly (readonly [T, number])[]): T {
    const total = items.reduce((sum, [, weight]) => sum + weight, 0);
    let left = this.next() * total;
    for (const [item, weight] of items) {
      left -= weight;
      if (left < 0) return item;
    }
    return items[items.length - 1]![0];
  }

  /** A version-4 UUID drawn from this sequence, so ids repeat with the seed. */
  uuid(): string {
    const hex = Array.from({ length: 4 }, () =>
      Math.floor(this.next() * 2 ** 32)
        .toString(16)
        .padStart(8, '0'),
    ).join('');
    const variant = ((parseInt(hex.charAt(16), 16) & 0x3) | 0x8).toString(16);
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-${variant}${hex.slice(
      17,
      20,
    )}-${hex.slice(20, 32)}`;
  }
}

/** A weighted choice over many items: cumulative weights and a binary search. */
export class WeightedChoice<T> {
  readonly #items: readonly T[];
  readonly #bounds: number[] = [];

  constructor(items: readonly (readonly [T, number])[]) {
    this.#items = items.map(([item]) => item);
    let total = 0;
    for (const [, weight] of items) this.#bounds.push((total += weight));
  }

  pick(random: DemoRandom): T {
    const target = random.next() * this.#bounds[this.#bounds.length - 1]!;
    let low = 0;
    let high = this.#bounds.length - 1;
    while (low < high) {
      const middle = (low + high) >> 1;
      if (this.#bounds[middle]! > target) high = middle;
      else low = middle + 1;
    }
    return this.#items[low]!;
  }
}

export interface Region {
  /** The first two digits of KATO. */
  code: string;
  en: string;
  /** "of the region" as Russian institution names write it. */
  ofRu: string;
  kk: string;
  centreRu: string;
  centreKk: string;
  /** Roughly the share of the population, so large regions buy more. */
  weight: number;
}

/** code | weight | en | "of the region" in Russian | kk | centre ru | centre kk */
const REGION_TABLE = `
10 | 6 | Abai | области Абай | Абай облысы | г. Семей | Семей қаласы
11 | 8 | Akmola | Акмолинской области | Ақмола облысы | г. Кокшетау | Көкшетау қаласы
15 | 9 | Aktobe | Актюбинской области | Ақтөбе облысы | г. Актобе | Ақтөбе қаласы
19 | 15 | Almaty Region | Алматинской области | Алматы облысы | г. Конаев | Қонаев қаласы
23 | 7 | Atyrau | Атырауской области | Атырау облысы | г. Атырау | Атырау қаласы
27 | 7 | West Kazakhstan | Западно-Казахстанской области | Батыс Қазақстан облысы | г. Уральск
  | Орал қаласы
31 | 12 | Zhambyl | Жамбылской области | Жамбыл облысы | г. Тараз | Тараз қаласы
33 | 7 | Zhetisu | области Жетісу | Жетісу облысы | г. Талдыкорган | Талдықорған қаласы
35 | 11 | Karaganda | Карагандинской области | Қарағанды облысы | г. Караганда
  | Қарағанды қаласы
39 | 8 | Kostanay | Костанайской области | Қостанай облысы | г. Костанай | Қостанай қаласы
43 | 8 | Kyzylorda | Кызылординской области | Қызылорда облысы | г. Кызылорда
  | Қызылорда қаласы
47 | 8 | Mangystau | Мангистауской области | Маңғыстау облысы | г. Актау | Ақтау қаласы
55 | 7 | Pavlodar | Павлодарской области | Павлодар облысы | г. Павлодар | Павлодар қаласы
59 | 5 | North Kazakhstan | Северо-Казахстанской области | Солтүстік Қазақстан облысы
  | г. Петропавловск | Петропавл қаласы
61 | 21 | Turkistan | Туркестанской области | Түркістан облысы | г. Туркестан
  | Түркістан қаласы
62 | 2 | Ulytau | области Ұлытау | Ұлытау облысы | г. Жезказган | Жезқазған қаласы
63 | 7 | East Kazakhstan | Восточно-Казахстанской области | Шығыс Қазақстан облысы
  | г. Усть-Каменогорск | Өскемен қаласы
71 | 15 | Astana | города Астаны | Астана қаласы | г. Астана | Астана қаласы
75 | 22 | Almaty | города Алматы | Алматы қаласы | г. Алматы | Алматы қаласы
79 | 12 | Shymkent | города Шымкента | Шымкент қаласы | г. Шымкент | Шымкент қаласы
`;

/** Rows of a text table: fields split by "|", a line starting with "|" continues the row. */
function tableRows(table: string): string[][] {
  const rows: string[] = [];
  for (const line of table.split('\n')) {
    const trimmed = line.trim();
    if (trimmed === '') continue;
    if (trimmed.startsWith('|') && rows.length > 0) rows[rows.length - 1] += ` ${trimmed}`;
    else rows.push(trimmed);
  }
  return rows.map((row) => row.split('|').map((field) => field.trim()));
}

function field(row: readonly string[], index: number): string {
  const value = row[index];
  if (value === undefined || value === '')
    throw new Error(`table row lacks field ${index}: ${row}`);
  return value;
}

/** The 17 regions and the 3 cities of republican significance. */
export const REGIONS: readonly Region[] = tableRows(REGION_TABLE).map((row) => ({
  code: field(row, 0),
  weight: Number(field(row, 1)),
  en: field(row, 2),
  ofRu: field(row, 3),
  kk: field(row, 4),
  centreRu: field(row, 5),
  centreKk: field(row, 6),
}));

export type Subject = 'goods' | 'works' | 'services';

export interface Category {
  code: string;
  subject: Subject;
  /** What an announcement of several lots of this category is called. */
  titles: Titles;
  /** Turnkey tenders are for construction only. */
  construction: boolean;
}

/** code | subject | kk | ru | en announcement titles */
const CATEGORY_TABLE = `
computers | goods | Компьютер техникасын сатып алу | Приобретение компьютерной техники
  | Purchase of computer equipment
office | goods | Кеңсе тауарларын сатып алу | Приобретение канцелярских товаров
  | Purchase of office supplies
fuel | goods | Жанар-жағармай материалдарын сатып алу | Приобретение горюче-смазочных материалов
  | Purchase of fuel and lubricants
medicines | goods | Дәрілік заттар мен медициналық бұйымдарды сатып алу
  | Закуп лекарственных средств и медицинских изделий | Purchase of medicines and medical devices
food | goods | Азық-түлік өнімдерін сатып алу | Приобретение продуктов питания
  | Purchase of food products
furniture | goods | Жиһаз сатып алу | Приобретение мебели | Purchase of furniture
vehicles | goods | Көлік құралдарын сатып алу | Приобретение транспортных средств
  | Purchase of vehicles
construction | works | Құрылыс-монтаж жұмыстары | Строительно-монтажные работы
  | Construction and installation works
repair | works | Жөндеу жұмыстары | Ремонтные работы | Repair works
maintenance | services | Ғимараттар мен аумақты күтіп-ұстау қызметтері
  | Услуги по содержанию зданий и территории | Building and grounds services
it | services | Ақпараттық-коммуникациялық қызметтер | Информационно-коммуникационные услуги
  | ICT services
social | services | Тамақтандыру, тасымалдау және оқыту қызметтері
  | Услуги питания, перевозки и обучения | Catering, transport and training services
utilities | services | Коммуналдық қызметтер | Коммунальные услуги | Utilities
`;

export const CATEGORIES: readonly Category[] = tableRows(CATEGORY_TABLE).map((row) => ({
  code: field(row, 0),
  subject: field(row, 1) as Subject,
  titles: { kk: field(row, 2), ru: field(row, 3), en: field(row, 4) },
  construction: field(row, 0) === 'construction',
}));

export interface Good {
  ensTru: string;
  category: string;
  names: Titles;
  /** Unit of measure code (796 piece, 166 kg, 112 litre, 006 metre, 055 m2, 5114 service). */
  unit: string;
  /** Unit price range in whole tenge. */
  price: readonly [number, number];
  quantity: readonly [number, number];
}

/**
 * Goods, works and services with ENS TRU codes shaped like the classifier's (KPVED + detail):
 * code | category | unit | unit price from-to, tenge | quantity from-to | kk | ru | en
 */
const GOODS_TABLE = `
262011.100.000001 | computers | 796 | 280000-650000 | 2-60 | Ноутбук | Ноутбук | Laptop
262015.000.000001 | computers | 796 | 220000-480000 | 5-120 | Дербес компьютер
  | Компьютер персональный настольный | Desktop computer
262016.400.000010 | computers | 796 | 90000-380000 | 1-30 | Көпфункционалды құрылғы
  | Многофункциональное устройство (МФУ) | Multifunction printer
262017.100.000003 | computers | 796 | 55000-160000 | 5-100 | Монитор
  | Монитор жидкокристаллический | LCD monitor
171214.500.000001 | office | 778 | 1900-3200 | 50-3000 | А4 форматты кеңсе қағазы
  | Бумага офисная формата А4 | A4 office paper
329912.100.000000 | office | 796 | 60-450 | 100-5000 | Шарикті қалам | Ручка шариковая
  | Ballpoint pen
205930.990.000012 | office | 796 | 9000-45000 | 5-200 | Принтерге арналған картридж
  | Картридж для принтера | Printer cartridge
172313.500.000002 | office | 796 | 150-600 | 200-10000 | Жалпы дәптер | Тетрадь общая
  | Exercise book
192021.300.000000 | fuel | 112 | 290-340 | 2000-120000 | Дизель отыны
  | Топливо дизельное летнее | Diesel fuel
192021.100.000002 | fuel | 112 | 205-245 | 3000-150000 | АИ-92 бензині | Бензин марки АИ-92
  | Petrol AI-92
051010.000.000002 | fuel | 168 | 18000-32000 | 20-3000 | Тас көмір | Уголь каменный | Hard coal
212010.200.000012 | medicines | 796 | 8-35 | 5000-400000 | Парацетамол, таблеткалар 500 мг
  | Парацетамол, таблетки 500 мг | Paracetamol tablets 500 mg
212023.500.000004 | medicines | 796 | 2400-7800 | 100-20000
  | Адам инсулині, инъекцияға арналған ерітінді | Инсулин человеческий, раствор для инъекций
  | Human insulin solution for injection
221960.000.000003 | medicines | 796 | 25-90 | 1000-200000 | Медициналық тексеру қолғаптары
  | Перчатки медицинские смотровые | Medical examination gloves
325013.100.000001 | medicines | 796 | 20-110 | 1000-300000 | Бір рет қолданылатын шприц
  | Шприц одноразовый | Disposable syringe
201112.300.000000 | medicines | 112 | 350-900 | 500-40000 | Медициналық оттегі
  | Кислород медицинский газообразный | Medical oxygen
266011.000.000003 | medicines | 796 | 28000000-95000000 | 1-2 | Рентген аппараты
  | Аппарат рентгеновский цифровой | Digital X-ray machine
105111.100.000000 | food | 112 | 380-560 | 500-40000 | Пастерленген сүт
  | Молоко пастеризованное | Pasteurised milk
101111.100.000001 | food | 166 | 2900-4200 | 200-15000 | Сиыр еті | Говядина | Beef
107111.100.000000 | food | 796 | 120-260 | 1000-80000 | Бидай наны | Хлеб пшеничный
  | Wheat bread
106132.330.000000 | food | 166 | 420-780 | 200-12000 | Қарақұмық жармасы | Крупа гречневая
  | Buckwheat groats
108112.100.000000 | food | 166 | 390-520 | 200-10000 | Қант | Сахар | Sugar
011351.000.000000 | food | 166 | 140-290 | 500-50000 | Картоп | Картофель | Potatoes
110711.300.000000 | food | 796 | 180-1800 | 100-10000 | Бөтелкедегі ауыз су
  | Вода питьевая бутилированная | Bottled drinking water
310111.500.000004 | furniture | 796 | 18000-95000 | 5-300 | Кеңсе орындығы | Стул офисный
  | Office chair
310112.300.000001 | furniture | 796 | 35000-160000 | 2-150 | Жазу үстелі | Стол письменный
  | Writing desk
310913.000.000002 | furniture | 796 | 22000-65000 | 20-600 | Оқушы партасы | Парта ученическая
  | School desk
291021.000.000004 | vehicles | 796 | 9500000-24000000 | 1-5 | Жеңіл автомобиль
  | Автомобиль легковой | Passenger car
291059.300.000001 | vehicles | 796 | 21000000-38000000 | 1-4
  | Жедел медициналық көмек автомобилі | Автомобиль скорой медицинской помощи | Ambulance
221111.000.000007 | vehicles | 796 | 28000-120000 | 4-200 | Автомобиль шиналары
  | Шины автомобильные | Car tyres
410040.000.000012 | construction | 5114 | 900000000-6500000000 | 1-1 | Мектеп құрылысы
  | Строительство общеобразовательной школы | Construction of a school
410040.000.000021 | construction | 5114 | 180000000-900000000 | 1-1
  | Дәрігерлік амбулатория құрылысы | Строительство врачебной амбулатории
  | Construction of a rural clinic
422111.000.000003 | construction | 006 | 18000-65000 | 500-25000 | Су құбыры желілерін салу
  | Строительство водопроводных сетей | Construction of water mains
421120.000.000002 | repair | 055 | 6000-19000 | 2000-90000
  | Автомобиль жолдарын орташа жөндеу жұмыстары | Работы по среднему ремонту автомобильных дорог
  | Medium repair of roads
433919.000.000001 | repair | 5114 | 40000000-650000000 | 1-1 | Ғимаратты күрделі жөндеу
  | Капитальный ремонт здания | Major repair of a building
432110.000.000001 | repair | 5114 | 4000000-90000000 | 1-1 | Көше жарығын жөндеу жұмыстары
  | Работы по ремонту уличного освещения | Street lighting repair
433410.000.000000 | repair | 055 | 7000-24000 | 50-4000 | Үй-жайларды ағымдағы жөндеу
  | Текущий ремонт помещений | Routine repair of premises
812110.000.000000 | maintenance | 5114 | 2500000-60000000 | 1-1 | Үй-жайларды жинау қызметтері
  | Услуги по уборке помещений | Cleaning of premises
801012.000.000000 | maintenance | 5114 | 3000000-85000000 | 1-1 | Күзет қызметтері
  | Услуги охраны объектов | Security services
812912.000.000000 | maintenance | 5114 | 1200000-45000000 | 1-1
  | Аумақты қардан тазарту қызметтері | Услуги по очистке территории от снега | Snow removal
813010.000.000001 | maintenance | 5114 | 900000-30000000 | 1-1 | Аумақты көгалдандыру қызметтері
  | Услуги по озеленению территории | Landscaping
432915.000.000000 | maintenance | 5114 | 600000-9000000 | 1-1
  | Лифттерге техникалық қызмет көрсету | Техническое обслуживание лифтов | Lift maintenance
582950.000.000000 | it | 796 | 45000-900000 | 1-400 | Бағдарламалық қамтамасыз етуге лицензиялар
  | Лицензии на программное обеспечение | Software licences
620230.000.000000 | it | 5114 | 2000000-120000000 | 1-1
  | Ақпараттық жүйелерді сүйемелдеу қызметтері | Услуги по сопровождению информационных систем
  | Information system maintenance
611043.000.000000 | it | 5114 | 400000-18000000 | 1-1 | Интернет желісіне қол жеткізу қызметтері
  | Услуги доступа к сети Интернет | Internet access
562920.000.000001 | social | 5114 | 6000000-180000000 | 1-1
  | Оқушылардың ыстық тамағын ұйымдастыру қызметтері
  | Услуги по организации горячего питания учащихся | School meals
493939.000.000002 | social | 5114 | 1500000-40000000 | 1-1 | Жолаушыларды тасымалдау қызметтері
  | Услуги по перевозке пассажиров | Passenger transport
855913.000.000004 | social | 5114 | 300000-12000000 | 1-1 | Біліктілікті арттыру курстары
  | Услуги по повышению квалификации | Professional development courses
651221.000.000000 | social | 5114 | 25000-900000 | 1-1
  | Көлік құралдары иелерінің ГПЖ міндетті сақтандыру
  | Обязательное страхование ГПО владельцев транспортных средств
  | Motor third-party liability insurance
351110.000.000000 | utilities | 245 | 24-38 | 20000-2000000 | Электр энергиясы
  | Электрическая энергия | Electricity
353011.000.000000 | utilities | 233 | 4800-9500 | 100-12000 | Жылу энергиясы | Тепловая энергия
  | Heat supply
360020.000.000000 | utilities | 113 | 110-260 | 500-90000 | Ауыз су беру қызметтері
  | Услуги по водоснабжению | Water supply
`;

function range(text: string): readonly [number, number] {
  const [from, to] = text.split('-').map(Number);
  if (from === undefined || to === undefined || !(from <= to)) throw new Error(`bad range ${text}`);
  return [from, to];
}

export const GOODS: readonly Good[] = tableRows(GOODS_TABLE).map((row) => ({
  ensTru: field(row, 0),
  category: field(row, 1),
  unit: field(row, 2),
  price: range(field(row, 3)),
  quantity: range(field(row, 4)),
  names: { kk: field(row, 5), ru: field(row, 6), en: field(row, 7) },
}));

type CustomerKind =
  | 'akimat'
  | 'education'
  | 'health'
  | 'police'
  | 'roads'
  | 'hospital'
  | 'school'
  | 'social_corporation'
  | 'national_company';

interface CustomerTemplate {
  kind: CustomerKind;
  regime: Regime;
  stateInstitution: boolean;
  weight: number;
  /** Categories this kind of customer buys, with weights. */
  buys: readonly (readonly [string, number])[];
  names(region: Region, n: number): { ru: string; kk: string };
}

const COMMON_BUYS = [
  ['computers', 3],
  ['office', 4],
  ['fuel', 2],
  ['furniture', 2],
  ['maintenance', 3],
  ['it', 2],
  ['utilities', 2],
] as const;

const CUSTOMER_TEMPLATES: readonly CustomerTemplate[] = [
  {
    kind: 'akimat',
    regime: 'public',
    stateInstitution: true,
    weight: 3,
    buys: [...COMMON_BUYS, ['vehicles', 1], ['repair', 3], ['construction', 2], ['social', 1]],
    names: (region) => ({
      ru: `ГУ «Аппарат акима ${region.centreRu}»`,
      kk: `«${region.centreKk} әкімінің аппараты» ММ`,
    }),
  },
  {
    kind: 'education',
    regime: 'public',
    stateInstitution: true,
    weight: 2,
    buys: [...COMMON_BUYS, ['construction', 3], ['repair', 2], ['social', 3], ['food', 1]],
    names: (region) => ({
      ru: `ГУ «Управление образования ${region.ofRu}»`,
      kk: `«${region.kk} білім басқармасы» ММ`,
    }),
  },
  {
    kind: 'health',
    regime: 'public',
    stateInstitution: true,
    weight: 2,
    buys: [...COMMON_BUYS, ['medicines', 6], ['vehicles', 1], ['construction', 1]],
    names: (region) => ({
      ru: `ГУ «Управление здравоохранения ${region.ofRu}»`,
      kk: `«${region.kk} денсаулық сақтау басқармасы» ММ`,
    }),
  },
  {
    kind: 'police',
    regime: 'public',
    stateInstitution: true,
    weight: 1,
    buys: [...COMMON_BUYS, ['vehicles', 3], ['fuel', 3], ['food', 1]],
    names: (region) => ({
      ru: `ГУ «Департамент полиции ${region.ofRu}»`,
      kk: `«${region.kk} полиция департаменті» ММ`,
    }),
  },
  {
    kind: 'roads',
    regime: 'public',
    stateInstitution: true,
    weight: 1,
    buys: [
      ['repair', 8],
      ['construction', 3],
      ['maintenance', 3],
      ['fuel', 2],
      ['office', 1],
    ],
    names: (region) => ({
      ru: `ГУ «Управление пассажирского транспорта и автомобильных дорог ${region.ofRu}»`,
      kk: `«${region.kk} жолаушылар көлігі және автомобиль жолдары басқармасы» ММ`,
    }),
  },
  {
    kind: 'hospital',
    regime: 'public',
    stateInstitution: false,
    weight: 4,
    buys: [
      ['medicines', 10],
      ['food', 3],
      ['maintenance', 2],
      ['office', 1],
      ['utilities', 1],
    ],
    names: (region, n) => ({
      ru: `ГКП на ПХВ «Городская больница №${n}» (${region.centreRu})`,
      kk: `«№${n} қалалық аурухана» ШЖҚ МКК (${region.centreKk})`,
    }),
  },
  {
    kind: 'school',
    regime: 'public',
    stateInstitution: true,
    weight: 6,
    buys: [
      ['food', 6],
      ['social', 4],
      ['office', 3],
      ['furniture', 2],
      ['repair', 1],
    ],
    names: (region, n) => ({
      ru: `КГУ «Общеобразовательная школа №${n}» (${region.centreRu})`,
      kk: `«№${n} жалпы білім беретін мектеп» КММ (${region.centreKk})`,
    }),
  },
  {
    kind: 'social_corporation',
    regime: 'quasi_public',
    stateInstitution: false,
    weight: 1,
    buys: [...COMMON_BUYS, ['construction', 2], ['repair', 1]],
    names: (region) => ({
      ru: `АО «Социально-предпринимательская корпорация «${region.en}»`,
      kk: `«${region.en}» әлеуметтік-кәсіпкерлік корпорациясы» АҚ`,
    }),
  },
];

/** National companies buy under the quasi-public law; each exists once. */
const NATIONAL_COMPANIES: readonly { ru: string; kk: string }[] = [
  { ru: 'АО «НК «Қазақстан темір жолы»', kk: '«Қазақстан темір жолы» ҰК» АҚ' },
  { ru: 'АО «НК «КазМунайГаз»', kk: '«ҚазМұнайГаз» ҰК» АҚ' },
  { ru: 'АО «Казпочта»', kk: '«Қазпошта» АҚ' },
  { ru: 'АО «KEGOC»', kk: '«KEGOC» АҚ' },
  { ru: 'АО «Самрук-Энерго»', kk: '«Самұрық-Энерго» АҚ' },
  { ru: 'АО «Казахтелеком»', kk: '«Қазақтелеком» АҚ' },
  { ru: 'АО «НК «QazaqGaz»', kk: '«QazaqGaz» ҰК» АҚ' },
  { ru: 'АО «Эйр Астана»', kk: '«Эйр Астана» АҚ' },
];

const NATIONAL_COMPANY_BUYS = [
  ...COMMON_BUYS,
  ['fuel', 4],
  ['vehicles', 2],
  ['construction', 2],
  ['repair', 2],
] as const;

const SUPPLIER_NAMES: readonly { ru: string; kk: string }[] = [
  { ru: 'ТОО «СтройМонтажСервис»', kk: '«СтройМонтажСервис» ЖШС' },
  { ru: 'ТОО «Астана Торг Групп»', kk: '«Астана Торг Групп» ЖШС' },
  { ru: 'ТОО «KazTechSupply»', kk: '«KazTechSupply» ЖШС' },
  { ru: 'ТОО «Алтын Дала Курылыс»', kk: '«Алтын Дала Құрылыс» ЖШС' },
  { ru: 'ТОО «Медтехника Плюс»', kk: '«Медтехника Плюс» ЖШС' },
  { ru: 'ТОО «Шыгыс Азык Тулик»', kk: '«Шығыс Азық-Түлік» ЖШС' },
];

const STREETS: readonly string[] = [
  'ул. Абая',
  'пр. Республики',
  'ул. Толе би',
  'ул. Жамбыла',
  'пр. Абылай хана',
  'ул. Казыбек би',
  'ул. Сейфуллина',
  'пр. Независимости',
  'ул. Байтурсынова',
  'ул. Кенесары',
];

const FUNDING_SOURCES: Readonly<Record<Regime, readonly string[]>> = {
  public: ['republican_budget', 'local_budget'],
  quasi_public: ['own_funds'],
};

/** Methods an announcement of this subject is run by, with how often they are chosen. */
const METHOD_WEIGHTS: Readonly<Record<Subject, readonly (readonly [MethodCode, number])[]>> = {
  goods: [
    ['price_request', 40],
    ['tender', 15],
    ['rating_tender', 8],
    ['auction', 22],
    ['single_source', 7],
  ],
  works: [
    ['tender', 40],
    ['rating_tender', 15],
    ['turnkey_tender', 15],
    ['price_request', 15],
    ['single_source', 10],
  ],
  services: [
    ['tender', 30],
    ['rating_tender', 10],
    ['price_request', 35],
    ['single_source', 25],
  ],
};

const LOT_COUNTS: readonly (readonly [number, number])[] = [
  [1, 14],
  [2, 12],
  [3, 12],
  [4, 12],
  [5, 12],
  [6, 12],
  [7, 13],
  [8, 13],
];

const CANCEL_REASONS: readonly string[] = [
  'Сокращение расходов на закупку',
  'Изменение потребности заказчика',
  'Предписание уполномоченного органа',
];

export interface DemoParticipant {
  id: string;
  bin: string;
  /** Demo participants have no signed registration; this id stands in for the document. */
  registrationDocumentId: string;
  nameRu: string;
  nameKk: string;
  roles: readonly string[];
  region: Region;
  regime: Regime;
  stateInstitution: boolean;
  /** National companies buy for the whole country; everyone else in their own region. */
  nationwide: boolean;
  /** How many announcements this customer makes, relative to a school's. */
  activity: number;
  buys: readonly (readonly [string, number])[];
  registeredAt: Date;
  address: { kato: string; text: string };
  contacts: { email: string; phone: string };
}

export interface DemoLot {
  id: string;
  number: number;
  planItemId: string | null;
  good: Good;
  titles: Titles;
  quantity: number;
  unitPrice: bigint;
  amount: bigint;
  kato: string;
  deliveryPlace: string;
  fundingSource: string;
  month: number;
}

export interface DemoProcurement {
  id: string;
  regime: Regime;
  method: ProcurementMethod;
  customer: DemoParticipant;
  organizer: DemoParticipant;
  operator: DemoParticipant;
  titles: Titles;
  status: ProcurementStatus;
  schedule: Schedule;
  amount: bigint;
  createdAt: Date;
  updatedAt: Date;
  reason: string | null;
  /** The Astana year of publication: of the plan and of the number. */
  year: number;
  lots: DemoLot[];
}

/** The parties of a demo: customers, single organizers, operators and a few suppliers. */
export interface DemoParties {
  customers: DemoParticipant[];
  /** A single organizer per region buys for the state institutions there. */
  organizers: Map<string, DemoParticipant>;
  singleOperator: DemoParticipant;
  quasiOperator: DemoParticipant;
  suppliers: DemoParticipant[];
}

const DAY_MS = 86_400_000;

/** A valid BIN of a resident head organisation registered in the given year and month. */
export function demoBin(random: DemoRandom, year: number, month: number): string {
  for (;;) {
    const first11 =
      String(year % 100).padStart(2, '0') +
      String(month).padStart(2, '0') +
      '40' +
      String(random.int(0, 99_999)).padStart(5, '0');
    const digit = checkDigit(first11);
    if (digit !== null) return `${first11}${digit}`;
  }
}

function kato(random: DemoRandom, region: Region): string {
  const district = String(random.int(1, 6) * 10 + random.int(0, 9)).padStart(2, '0');
  const okrug = String(random.int(0, 4) * 10).padStart(2, '0');
  return `${region.code}${district}${okrug}${random.chance(0.6) ? '000' : '100'}`;
}

interface Registration {
  random: DemoRandom;
  now: Date;
  /** BINs given so far: a BIN names one participant. */
  bins: Set<string>;
}

function participant(
  { random, now, bins }: Registration,
  names: { ru: string; kk: string },
  region: Region,
  roles: readonly string[],
  extra: Pick<DemoParticipant, 'regime' | 'stateInstitution' | 'buys'> &
    Partial<Pick<DemoParticipant, 'nationwide' | 'activity'>>,
): DemoParticipant {
  let bin = demoBin(random, random.int(1997, 2019), random.int(1, 12));
  while (bins.has(bin)) bin = demoBin(random, random.int(1997, 2019), random.int(1, 12));
  bins.add(bin);
  const address = {
    kato: kato(random, region),
    text: `${region.centreRu}, ${random.pick(STREETS)}, ${random.int(1, 180)}`,
  };
  return {
    id: random.uuid(),
    bin,
    registrationDocumentId: random.uuid(),
    nameRu: names.ru,
    nameKk: names.kk,
    roles,
    region,
    registeredAt: new Date(now.getTime() - random.int(200, 1800) * DAY_MS),
    address,
    contacts: {
      email: `zakup.${bin.slice(6)}@demo.upp.kz`,
      phone: `+7 7${random.int(10, 29)} ${random.int(100, 999)} ${random.int(1000, 9999)}`,
    },
    nationwide: false,
    activity: 1,
    ...extra,
  };
}

/** Draws the parties: `customers` customers spread over the regions by population. */
export function demoParties(random: DemoRandom, customers: number, now: Date): DemoParties {
  const registration: Registration = { random, now, bins: new Set() };
  const regions = new WeightedChoice(REGIONS.map((region) => [region, region.weight] as const));
  const numbers = new Map<string, number>();
  const list: DemoParticipant[] = [];
  const nationalCount = Math.min(
    NATIONAL_COMPANIES.length,
    Math.max(1, Math.floor(customers / 12)),
  );
  for (const names of NATIONAL_COMPANIES.slice(0, nationalCount)) {
    list.push(
      participant(
        registration,
        names,
        REGIONS.find((region) => region.code === '71')!,
        ['customer'],
        {
          regime: 'quasi_public',
          stateInstitution: false,
          nationwide: true,
          // A national company buys about as much as eighty regional institutions.
          activity: Math.max(3, customers / 80),
          buys: NATIONAL_COMPANY_BUYS,
        },
      ),
    );
  }
  const templates = CUSTOMER_TEMPLATES.map((template) => [template, template.weight] as const);
  const taken = new Set<string>();
  while (list.length < customers) {
    const region =
      list.length < nationalCount + REGIONS.length
        ? REGIONS[list.length - nationalCount]!
        : regions.pick(random);
    const template = random.weighted(templates);
    const key = `${template.kind}:${region.code}`;
    const n = (numbers.get(key) ?? 0) + random.int(1, 9);
    numbers.set(key, n);
    const names = template.names(region, n);
    if (taken.has(names.ru)) continue;
    taken.add(names.ru);
    list.push(
      participant(registration, names, region, ['customer', 'organizer'], {
        regime: template.regime,
        stateInstitution: template.stateInstitution,
        buys: template.buys,
      }),
    );
  }
  const organizers = new Map<string, DemoParticipant>();
  for (const region of REGIONS) {
    const names = {
      ru: `ГУ «Управление государственных закупок ${region.ofRu}»`,
      kk: `«${region.kk} мемлекеттік сатып алу басқармасы» ММ`,
    };
    organizers.set(
      region.code,
      participant(registration, names, region, ['organizer'], {
        regime: 'public',
        stateInstitution: true,
        buys: [],
      }),
    );
  }
  const astana = REGIONS.find((region) => region.code === '71')!;
  const operatorOf = (names: { ru: string; kk: string }, role: string) =>
    participant(registration, names, astana, [role], {
      regime: role === 'single_operator' ? 'public' : 'quasi_public',
      stateInstitution: false,
      buys: [],
    });
  return {
    customers: list,
    organizers,
    singleOperator: operatorOf(
      { ru: 'АО «Центр электронных финансов»', kk: '«Электрондық қаржы орталығы» АҚ' },
      'single_operator',
    ),
    quasiOperator: operatorOf(
      { ru: 'ТОО «Samruk-Kazyna Business Service»', kk: '«Samruk-Kazyna Business Service» ЖШС' },
      'operator',
    ),
    suppliers: SUPPLIER_NAMES.map((names) =>
      participant(registration, names, regions.pick(random), ['potential_supplier'], {
        regime: 'public',
        stateInstitution: false,
        buys: [],
      }),
    ),
  };
}

/** A publication instant within the last `days` days: a working day, office hours, not future. */
/** Working days of the publication window, newest first. */
function publicationDays(options: DemoOptions, offsetAt: OffsetAt): string[] {
  const today = astanaLocalDate(options.now, offsetAt);
  return Array.from({ length: options.publishedWithinDays + 1 }, (_, back) =>
    addCalendarDays(today, -back),
  ).filter((date) => options.calendar.isWorkingDay(date));
}

/** A publication instant on one of the days, in office hours, and not after `now`. */
function publicationInstant(
  random: DemoRandom,
  days: readonly string[],
  now: Date,
  offsetAt: OffsetAt,
): Date {
  for (;;) {
    const hour = String(random.int(9, 17)).padStart(2, '0');
    const minute = String(random.int(0, 59)).padStart(2, '0');
    const at = astanaInstant(random.pick(days), `${hour}:${minute}`, offsetAt);
    if (at.getTime() <= now.getTime()) return at;
  }
}

/**
 * The minimum schedule, remembered per method and Astana day when every period of the method
 * counts working days: then the instants depend on the day only, and a year of announcements
 * would otherwise walk the calendar hundreds of thousands of times.
 */
class ScheduleMemo {
  readonly #known = new Map<string, Schedule>();

  constructor(readonly calendar: WorkingCalendar) {}

  schedule(method: ProcurementMethod, publishedAt: Date, localDate: string): Schedule {
    const periods = [method.discussion, method.acceptance, method.review];
    if (periods.some((period) => period !== undefined && period.unit !== 'working_days')) {
      return minimumSchedule(this.calendar, method, publishedAt);
    }
    const key = `${method.regime}:${method.code}:${localDate}`;
    let known = this.#known.get(key);
    if (known === undefined) {
      known = minimumSchedule(this.calendar, method, publishedAt);
      this.#known.set(key, known);
    }
    return { ...known, publishedAt };
  }
}

interface Outcome {
  status: ProcurementStatus;
  at: Date;
  reason: string | null;
}

function move(
  method: ProcurementMethod,
  outcome: Outcome,
  trigger: Parameters<typeof nextStatus>[2],
  at: Date,
  reason: string | null = null,
): Outcome {
  const status = nextStatus(method, outcome.status, trigger);
  if (status === undefined) return outcome;
  return { status, at, reason: reason ?? outcome.reason };
}

/**
 * Where the status machine has taken a procurement by `now`: every schedule mark that fell due has
 * fired; a few announcements were cancelled while open, a few refused in review, most results
 * older than a few days are completed and some are under appeal.
 */
function outcomeAt(
  random: DemoRandom,
  method: ProcurementMethod,
  schedule: Schedule,
  now: Date,
): Outcome {
  const published = nextStatus(method, 'draft', { action: 'publish' });
  if (published === undefined) throw new Error(`${method.code} cannot be published`);
  let outcome: Outcome = { status: published, at: schedule.publishedAt, reason: null };
  const openUntil = Math.min(now.getTime(), schedule.offersEndAt.getTime());
  const cancelAt = random.chance(0.04)
    ? new Date(
        schedule.publishedAt.getTime() +
          random.next() * (openUntil - schedule.publishedAt.getTime()),
      )
    : undefined;
  for (;;) {
    const due = nextCheck(method, outcome.status, schedule);
    const cancels = nextStatus(method, outcome.status, { action: 'cancel' }) !== undefined;
    if (cancelAt !== undefined && cancels && (due === undefined || cancelAt < due.at)) {
      return move(method, outcome, { action: 'cancel' }, cancelAt, random.pick(CANCEL_REASONS));
    }
    if (due === undefined || due.at.getTime() > now.getTime()) break;
    outcome = move(method, outcome, { at: due.mark }, due.at);
  }
  const sinceMs = now.getTime() - outcome.at.getTime();
  if (outcome.status === 'review' && random.chance(0.02)) {
    const at = new Date(outcome.at.getTime() + random.next() * sinceMs);
    return move(method, outcome, { action: 'refuse' }, at, 'Отказ заказчика от закупки');
  }
  if (outcome.status === 'auction_pending' && sinceMs > DAY_MS) {
    outcome = move(
      method,
      outcome,
      { action: 'complete' },
      new Date(outcome.at.getTime() + DAY_MS),
    );
  }
  const resultsFor = now.getTime() - outcome.at.getTime();
  if (outcome.status === 'results' && resultsFor > 3 * DAY_MS && random.chance(0.8)) {
    const at = new Date(
      outcome.at.getTime() + random.int(3, Math.floor(resultsFor / DAY_MS)) * DAY_MS,
    );
    return move(
      method,
      outcome,
      { action: 'complete' },
      new Date(Math.min(at.getTime(), now.getTime())),
    );
  }
  if (outcome.status === 'results' && random.chance(0.05)) {
    return move(
      method,
      outcome,
      { action: 'appeal' },
      new Date(outcome.at.getTime() + random.next() * resultsFor),
    );
  }
  return outcome;
}

function suits(code: MethodCode, category: Category): boolean {
  const listed = METHOD_WEIGHTS[category.subject].some(([listedCode]) => listedCode === code);
  return listed && (code !== 'turnkey_tender' || category.construction);
}

function regimeMethod(random: DemoRandom, regime: Regime, category: Category): ProcurementMethod {
  const weights = METHOD_WEIGHTS[category.subject].filter(
    ([code]) => methodOf(regime, code) !== undefined && suits(code, category),
  );
  const method = methodOf(regime, random.weighted(weights));
  if (method === undefined) throw new Error(`no method for ${regime} ${category.code}`);
  return method;
}

function tiynBetween(random: DemoRandom, [min, max]: readonly [number, number]): bigint {
  const tenge = Math.round(min + (max - min) * random.next() ** 2);
  return BigInt(tenge) * 100n + (random.chance(0.3) ? BigInt(random.int(1, 99)) : 0n);
}

/** The year of the MRP that applies, or the latest the table knows. */
function mrpYear(year: number): number {
  const known = Object.keys(MRP_BY_YEAR).map(Number);
  return known.includes(year) ? year : Math.max(...known);
}

function demoLot(
  random: DemoRandom,
  procurement: { region: Region; regime: Regime; method: ProcurementMethod; localDate: string },
  number: number,
  good: Good,
): DemoLot {
  const unitPrice = tiynBetween(random, good.price);
  let quantity = random.int(good.quantity[0], good.quantity[1]);
  if (procurement.method.maxMrp !== undefined) {
    // One lot stays well under the yearly ceiling, so several requests for the same goods fit.
    const ceiling =
      mrpAmount(procurement.method.maxMrp, mrpYear(Number(procurement.localDate.slice(0, 4)))) /
      20n;
    while (quantity > 1 && BigInt(quantity) * unitPrice > ceiling)
      quantity = Math.ceil(quantity / 2);
  }
  const lotKato = kato(random, procurement.region);
  return {
    id: random.uuid(),
    number,
    planItemId: null,
    good,
    titles: good.names,
    quantity,
    unitPrice,
    amount: BigInt(quantity) * unitPrice,
    kato: lotKato,
    deliveryPlace: `${procurement.region.centreRu}, ${random.pick(STREETS)}, ${random.int(1, 180)}`,
    fundingSource: random.pick(FUNDING_SOURCES[procurement.regime]),
    month: Number(procurement.localDate.slice(5, 7)),
  };
}

export interface DemoOptions {
  now: Date;
  calendar: WorkingCalendar;
  /** Announcements are published within this many days before `now`. */
  publishedWithinDays: number;
  /** Astana's offset; the calendar's own by default (a constant is exact after 2024-03-01). */
  offsetAt?: OffsetAt;
}

/** An endless stream of announcements of the parties, as the status machine has them at `now`. */
export function* demoProcurements(
  random: DemoRandom,
  parties: DemoParties,
  options: DemoOptions,
): Generator<DemoProcurement> {
  const categories = new Map(CATEGORIES.map((category) => [category.code, category]));
  const goodsOf = new Map(
    CATEGORIES.map((category) => [
      category.code,
      GOODS.filter((good) => good.category === category.code),
    ]),
  );
  const customers = new WeightedChoice(
    parties.customers.map((customer) => [customer, customer.activity] as const),
  );
  const regions = new WeightedChoice(REGIONS.map((region) => [region, region.weight] as const));
  const offsetAt = options.offsetAt ?? astanaOffsetMinutes;
  const days = publicationDays(options, offsetAt);
  const schedules = new ScheduleMemo(options.calendar);
  // The first announcements run every method of every regime once, so a small demo shows all.
  const uncovered = [...PROCUREMENT_METHODS];
  for (;;) {
    const covering = uncovered.shift();
    const { customer, category, method } =
      covering === undefined
        ? freeChoice(random, customers, categories)
        : coveringChoice(random, parties, covering, categories);
    const regime = customer.regime;
    const publishedAt = publicationInstant(random, days, options.now, offsetAt);
    const localDate = astanaLocalDate(publishedAt, offsetAt);
    const schedule = schedules.schedule(method, publishedAt, localDate);
    const outcome = outcomeAt(random, method, schedule, options.now);
    const region = customer.nationwide ? regions.pick(random) : customer.region;
    const count = method.oneLot ? 1 : random.weighted(LOT_COUNTS);
    const goods = lotGoods(random, goodsOf.get(category.code)!, count);
    const lots = goods.map((good, index) =>
      demoLot(random, { region, regime, method, localDate }, index + 1, good),
    );
    const first = lots[0]!;
    const organizer =
      customer.stateInstitution && random.chance(0.35)
        ? parties.organizers.get(region.code)!
        : customer;
    yield {
      id: random.uuid(),
      regime,
      method,
      customer,
      organizer,
      operator: regime === 'public' ? parties.singleOperator : parties.quasiOperator,
      titles: count === 1 ? first.titles : category.titles,
      status: outcome.status,
      schedule,
      amount: lots.reduce((sum, lot) => sum + lot.amount, 0n),
      createdAt: new Date(publishedAt.getTime() - random.int(1, 72) * 3_600_000),
      updatedAt: outcome.at,
      reason: outcome.reason,
      year: Number(localDate.slice(0, 4)),
      lots,
    };
  }
}

interface Choice {
  customer: DemoParticipant;
  category: Category;
  method: ProcurementMethod;
}

function freeChoice(
  random: DemoRandom,
  customers: WeightedChoice<DemoParticipant>,
  categories: ReadonlyMap<string, Category>,
): Choice {
  const customer = customers.pick(random);
  const category = categories.get(random.weighted(customer.buys))!;
  return { customer, category, method: regimeMethod(random, customer.regime, category) };
}

/** A customer of the method's regime and a category the method may buy (theirs if possible). */
function coveringChoice(
  random: DemoRandom,
  parties: DemoParties,
  method: ProcurementMethod,
  categories: ReadonlyMap<string, Category>,
): Choice {
  const customers = parties.customers.filter((customer) => customer.regime === method.regime);
  const customer = customers.length > 0 ? random.pick(customers) : random.pick(parties.customers);
  const allowed = [...categories.values()].filter((category) => suits(method.code, category));
  const theirs = allowed.filter((category) =>
    customer.buys.some(([code]) => code === category.code),
  );
  const category = random.pick(theirs.length > 0 ? theirs : allowed);
  const regimeMethodRow = methodOf(customer.regime, method.code) ?? method;
  return { customer, category, method: regimeMethodRow };
}

/** Different goods of the category while there are enough, then repeats for other places. */
function lotGoods(random: DemoRandom, choices: readonly Good[], count: number): Good[] {
  const shuffled = [...choices];
  for (let index = shuffled.length - 1; index > 0; index -= 1) {
    const other = random.int(0, index);
    [shuffled[index], shuffled[other]] = [shuffled[other]!, shuffled[index]!];
  }
  return Array.from({ length: count }, (_, index) => shuffled[index] ?? random.pick(choices));
}

const iso = (at: Date | undefined): string | null => (at === undefined ? null : at.toISOString());

/** Inserts participants (and the category of state institutions) with one statement each. */
export async function insertParticipants(
  tx: Queryable,
  participants: readonly DemoParticipant[],
): Promise<void> {
  if (participants.length === 0) return;
  await tx.query(
    `INSERT INTO participant (id, kind, bin, name_kk, name_ru, address, contacts, roles,
       registered_at, registration_document_id)
     SELECT id, 'legal_entity', bin, name_kk, name_ru, address::jsonb, contacts::jsonb,
       string_to_array(roles, ','), registered_at, document_id
       FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
         $7::text[], $8::timestamptz[], $9::uuid[])
         AS p (id, bin, name_kk, name_ru, address, contacts, roles, registered_at, document_id)`,
    [
      participants.map((p) => p.id),
      participants.map((p) => p.bin),
      participants.map((p) => p.nameKk),
      participants.map((p) => p.nameRu),
      participants.map((p) => JSON.stringify(p.address)),
      participants.map((p) => JSON.stringify(p.contacts)),
      participants.map((p) => p.roles.join(',')),
      participants.map((p) => p.registeredAt.toISOString()),
      participants.map((p) => p.registrationDocumentId),
    ],
  );
  const institutions = participants.filter((p) => p.stateInstitution);
  if (institutions.length === 0) return;
  await tx.query(
    `INSERT INTO participant_category (participant_id, category, status, requested_at, decided_at)
     SELECT id, 'state_institution', 'confirmed', at, at + interval '1 day'
       FROM unnest($1::uuid[], $2::timestamptz[]) AS c (id, at)`,
    [institutions.map((p) => p.id), institutions.map((p) => p.registeredAt.toISOString())],
  );
}

/** Approved annual plans of the customers, with one item per lot; sets each lot's plan item. */
export async function insertPlans(
  tx: Queryable,
  random: DemoRandom,
  procurements: readonly DemoProcurement[],
): Promise<number> {
  const plans = new Map<string, DemoPlan>();
  const items: { plan: DemoPlan; number: number; lot: DemoLot; p: DemoProcurement }[] = [];
  for (const p of procurements) {
    const key = `${p.customer.id}:${p.year}`;
    let plan = plans.get(key);
    if (plan === undefined) {
      plan = {
        id: random.uuid(),
        customer: p.customer.id,
        year: p.year,
        from: p.createdAt,
        items: 0,
      };
      plans.set(key, plan);
    }
    if (p.createdAt < plan.from) plan.from = p.createdAt;
    for (const lot of p.lots) {
      plan.items += 1;
      lot.planItemId = random.uuid();
      items.push({ plan, number: plan.items, lot, p });
    }
  }
  const list = [...plans.values()];
  await tx.query(
    `INSERT INTO plan (id, customer_participant_id, year, kind, status, version, approved_at,
       created_at, updated_at)
     SELECT id, customer, year, 'annual', 'approved', 1, at, at - interval '1 day', at
       FROM unnest($1::uuid[], $2::uuid[], $3::int[], $4::timestamptz[])
         AS p (id, customer, year, at)`,
    [
      list.map((plan) => plan.id),
      list.map((plan) => plan.customer),
      list.map((plan) => plan.year),
      list.map((plan) => approvedAt(plan).toISOString()),
    ],
  );
  await tx.query(
    `INSERT INTO plan_item (id, plan_id, number, ens_tru, name_kk, name_ru, name_en, unit, quantity,
       unit_price, amount, month, kato, delivery_place, funding_source, regime, method, created_at,
       updated_at)
     SELECT id, plan_id, number, ens_tru, name_kk, name_ru, name_en, unit, quantity, unit_price,
       amount, month, kato, delivery_place, funding_source, regime, method, at, at
       FROM unnest($1::uuid[], $2::uuid[], $3::int[], $4::text[], $5::text[], $6::text[],
         $7::text[], $8::text[], $9::numeric[], $10::bigint[], $11::bigint[], $12::int[],
         $13::text[], $14::text[], $15::text[], $16::text[], $17::text[], $18::timestamptz[])
         AS i (id, plan_id, number, ens_tru, name_kk, name_ru, name_en, unit, quantity,
           unit_price, amount, month, kato, delivery_place, funding_source, regime, method, at)`,
    [
      items.map((i) => i.lot.planItemId),
      items.map((i) => i.plan.id),
      items.map((i) => i.number),
      items.map((i) => i.lot.good.ensTru),
      items.map((i) => i.lot.titles.kk),
      items.map((i) => i.lot.titles.ru),
      items.map((i) => i.lot.titles.en),
      items.map((i) => i.lot.good.unit),
      items.map((i) => String(i.lot.quantity)),
      items.map((i) => String(i.lot.unitPrice)),
      items.map((i) => String(i.lot.amount)),
      items.map((i) => i.lot.month),
      items.map((i) => i.lot.kato),
      items.map((i) => i.lot.deliveryPlace),
      items.map((i) => i.lot.fundingSource),
      items.map((i) => i.p.regime),
      items.map((i) => i.p.method.code),
      items.map((i) => approvedAt(i.plan).toISOString()),
    ],
  );
  return list.length;
}

interface DemoPlan {
  id: string;
  customer: string;
  year: number;
  /** The first announcement made from the plan. */
  from: Date;
  items: number;
}

/** Plans are approved a week before the first announcement made from them. */
function approvedAt(plan: DemoPlan): Date {
  return new Date(plan.from.getTime() - 7 * DAY_MS);
}

/**
 * Inserts announcements with their lots and 'published' events; numbers come from
 * procurement_number_seq in the order given. Returns the numbers.
 */
export async function insertProcurements(
  tx: Queryable,
  procurements: readonly DemoProcurement[],
  ocidPrefix: string,
): Promise<string[]> {
  if (procurements.length === 0) return [];
  const sequence = await tx.query<{ n: bigint }>(
    "SELECT nextval('procurement_number_seq') AS n FROM generate_series(1, $1::int)",
    [procurements.length],
  );
  const numbers = procurements.map((p, index) => {
    const serial = String(sequence.rows[index]!.n).padStart(6, '0');
    return `${p.year}-${serial}`;
  });
  const checks = procurements.map((p) => nextCheck(p.method, p.status, p.schedule));
  await tx.query(
    `INSERT INTO procurement (id, number, ocid, regime, operator_participant_id, method,
       customer_participant_id, organizer_participant_id, customer_bin, title_kk, title_ru,
       title_en, status, security_basis_points, amount, kato_region, published_at,
       discussion_ends_at, offers_end_at, review_ends_at, next_check, next_mark, reason,
       created_at, updated_at)
     SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::uuid[], $6::text[],
       $7::uuid[], $8::uuid[], $9::text[], $10::text[], $11::text[], $12::text[], $13::text[],
       $14::int[], $15::bigint[], $16::text[], $17::timestamptz[], $18::timestamptz[],
       $19::timestamptz[], $20::timestamptz[], $21::timestamptz[], $22::text[], $23::text[],
       $24::timestamptz[], $25::timestamptz[])`,
    [
      procurements.map((p) => p.id),
      numbers,
      numbers.map((number) => `${ocidPrefix}-${number}`),
      procurements.map((p) => p.regime),
      procurements.map((p) => p.operator.id),
      procurements.map((p) => p.method.code),
      procurements.map((p) => p.customer.id),
      procurements.map((p) => p.organizer.id),
      procurements.map((p) => p.customer.bin),
      procurements.map((p) => p.titles.kk),
      procurements.map((p) => p.titles.ru),
      procurements.map((p) => p.titles.en),
      procurements.map((p) => p.status),
      procurements.map((p) => p.method.securityBasisPoints),
      procurements.map((p) => String(p.amount)),
      procurements.map((p) => p.lots[0]!.kato.slice(0, 2)),
      procurements.map((p) => p.schedule.publishedAt.toISOString()),
      procurements.map((p) => iso(p.schedule.discussionEndsAt)),
      procurements.map((p) => p.schedule.offersEndAt.toISOString()),
      procurements.map((p) => p.schedule.reviewEndsAt.toISOString()),
      checks.map((check) => iso(check?.at)),
      checks.map((check) => check?.mark ?? null),
      procurements.map((p) => p.reason),
      procurements.map((p) => p.createdAt.toISOString()),
      procurements.map((p) => p.updatedAt.toISOString()),
    ],
  );
  const lots = procurements.flatMap((p) => p.lots.map((lot) => ({ p, lot })));
  await tx.query(
    `INSERT INTO lot (id, procurement_id, number, plan_item_id, ens_tru, title_kk, title_ru,
       title_en, unit, quantity, unit_price, amount, kato, delivery_place, regime, method, status,
       customer_bin, kato_region, published_at, offers_end_at)
     SELECT id, procurement_id, number, plan_item_id, ens_tru, title_kk, title_ru, title_en, unit,
       quantity, unit_price, amount, kato, delivery_place, regime, method, status, customer_bin,
       left(kato, 2), published_at, offers_end_at
       FROM unnest($1::uuid[], $2::uuid[], $3::int[], $4::uuid[], $5::text[], $6::text[],
         $7::text[], $8::text[], $9::text[], $10::numeric[], $11::bigint[], $12::bigint[],
         $13::text[], $14::text[], $15::text[], $16::text[], $17::text[], $18::text[],
         $19::timestamptz[], $20::timestamptz[])
         AS l (id, procurement_id, number, plan_item_id, ens_tru, title_kk, title_ru, title_en,
           unit, quantity, unit_price, amount, kato, delivery_place, regime, method, status,
           customer_bin, published_at, offers_end_at)`,
    [
      lots.map(({ lot }) => lot.id),
      lots.map(({ p }) => p.id),
      lots.map(({ lot }) => lot.number),
      lots.map(({ lot }) => lot.planItemId),
      lots.map(({ lot }) => lot.good.ensTru),
      lots.map(({ lot }) => lot.titles.kk),
      lots.map(({ lot }) => lot.titles.ru),
      lots.map(({ lot }) => lot.titles.en),
      lots.map(({ lot }) => lot.good.unit),
      lots.map(({ lot }) => String(lot.quantity)),
      lots.map(({ lot }) => String(lot.unitPrice)),
      lots.map(({ lot }) => String(lot.amount)),
      lots.map(({ lot }) => lot.kato),
      lots.map(({ lot }) => lot.deliveryPlace),
      lots.map(({ p }) => p.regime),
      lots.map(({ p }) => p.method.code),
      lots.map(({ p }) => p.status),
      lots.map(({ p }) => p.customer.bin),
      lots.map(({ p }) => p.schedule.publishedAt.toISOString()),
      lots.map(({ p }) => p.schedule.offersEndAt.toISOString()),
    ],
  );
  await tx.query(
    `INSERT INTO procurement_event (procurement_id, kind, at, actor, details)
     SELECT id, 'published', at, 'demo', jsonb_build_object('number', number, 'method', method,
       'regime', regime)
       FROM unnest($1::uuid[], $2::timestamptz[], $3::text[], $4::text[], $5::text[])
         AS e (id, at, number, method, regime)`,
    [
      procurements.map((p) => p.id),
      procurements.map((p) => p.schedule.publishedAt.toISOString()),
      numbers,
      procurements.map((p) => p.method.code),
      procurements.map((p) => p.regime),
    ],
  );
  return numbers;
}

/** A handful of suppliers in the register: each evaded a contract of a completed procurement. */
export async function insertUnreliableSuppliers(
  tx: Queryable,
  random: DemoRandom,
  suppliers: readonly DemoParticipant[],
  procurements: readonly DemoProcurement[],
  now: Date,
): Promise<void> {
  const completed = procurements.filter((p) => p.status === 'completed');
  const rows = suppliers.map((supplier) => {
    const included = new Date(now.getTime() - random.int(5, 400) * DAY_MS);
    const excluded = new Date(included);
    excluded.setUTCMonth(excluded.getUTCMonth() + 24);
    return {
      supplier,
      included,
      excluded,
      procurement: completed.length === 0 ? null : random.pick(completed).id,
    };
  });
  await tx.query(
    `INSERT INTO unreliable_supplier (id, participant_id, bin, name_kk, name_ru, reason,
       procurement_id, included_at, excluded_at)
     SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::text[], $6::text[],
       $7::uuid[], $8::timestamptz[], $9::timestamptz[])`,
    [
      rows.map(() => random.uuid()),
      rows.map((row) => row.supplier.id),
      rows.map((row) => row.supplier.bin),
      rows.map((row) => row.supplier.nameKk),
      rows.map((row) => row.supplier.nameRu),
      rows.map(() => 'Уклонение победителя от заключения договора о закупках'),
      rows.map((row) => row.procurement),
      rows.map((row) => row.included.toISOString()),
      rows.map((row) => row.excluded.toISOString()),
    ],
  );
}

export function allParticipants(parties: DemoParties): DemoParticipant[] {
  return [
    parties.singleOperator,
    parties.quasiOperator,
    ...parties.organizers.values(),
    ...parties.customers,
    ...parties.suppliers,
  ];
}

export interface SeedOptions {
  procurements: number;
  now: Date;
  calendar: WorkingCalendar;
  ocidPrefix: string;
  seed?: number;
}

/** Lock key for seeding ("UPP" + demo), so two nodes starting at once seed once. */
const SEED_LOCK_KEY = 0x5550_5002;
const DEFAULT_SEED = 20_260_302;
const BATCH = 500;

/**
 * Seeds an empty platform with demo procurements, in one transaction; a database that already has
 * procurements is left as it is and 0 is returned.
 */
export async function seedDemoData(
  db: Database,
  options: SeedOptions,
): Promise<{ procurements: number; lots: number }> {
  return db.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock($1)', [SEED_LOCK_KEY]);
    const existing = await tx.query('SELECT 1 FROM procurement LIMIT 1');
    if (existing.rows.length > 0) return { procurements: 0, lots: 0 };

    const random = new DemoRandom(options.seed ?? DEFAULT_SEED);
    const parties = demoParties(
      random,
      Math.max(24, Math.ceil(options.procurements / 4)),
      options.now,
    );
    const stream = demoProcurements(random, parties, {
      now: options.now,
      calendar: options.calendar,
      publishedWithinDays: 42,
    });
    const procurements = Array.from(
      { length: options.procurements },
      () => stream.next().value as DemoProcurement,
    );
    procurements.sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime());

    await insertParticipants(tx, allParticipants(parties));
    await insertPlans(tx, random, procurements);
    for (let start = 0; start < procurements.length; start += BATCH) {
      await insertProcurements(tx, procurements.slice(start, start + BATCH), options.ocidPrefix);
    }
    await insertUnreliableSuppliers(tx, random, parties.suppliers, procurements, options.now);
    return {
      procurements: procurements.length,
      lots: procurements.reduce((sum, p) => sum + p.lots.length, 0),
    };
  });
}
