// A hand-written camt.053.001.08 statement as a Kazakh bank sends it to the operator's account,
// with entries described by the test: credits, debits, other currencies, pending ones.

export interface FixtureEntry {
  ref: string;
  amount: string;
  currency?: string;
  direction?: 'CRDT' | 'DBIT';
  status?: string;
  remittance?: string;
  /** Put the reference in NtryRef instead of AcctSvcrRef. */
  entryRefOnly?: boolean;
}

export const OPERATOR_IBAN = 'KZ75125KZT1001300335';

function escape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function entryXml(entry: FixtureEntry): string {
  const reference = entry.entryRefOnly
    ? `<NtryRef>${entry.ref}</NtryRef>`
    : `<NtryRef>N-${entry.ref}</NtryRef>`;
  const servicer = entry.entryRefOnly ? '' : `<AcctSvcrRef>${entry.ref}</AcctSvcrRef>`;
  return `
      <Ntry>
        ${reference}
        <Amt Ccy="${entry.currency ?? 'KZT'}">${entry.amount}</Amt>
        <CdtDbtInd>${entry.direction ?? 'CRDT'}</CdtDbtInd>
        <Sts><Cd>${entry.status ?? 'BOOK'}</Cd></Sts>
        <BookgDt><Dt>2026-03-02</Dt></BookgDt>
        <ValDt><Dt>2026-03-02</Dt></ValDt>
        ${servicer}
        <BkTxCd><Prtry><Cd>TRF</Cd></Prtry></BkTxCd>
        <NtryDtls>
          <TxDtls>
            <Refs><EndToEndId>E2E-${entry.ref}</EndToEndId></Refs>
            <RltdPties>
              <Dbtr><Pty><Nm>ТОО «Тест Строй»</Nm></Pty></Dbtr>
              <DbtrAcct><Id><IBAN>KZ86125KZT5004100100</IBAN></Id></DbtrAcct>
            </RltdPties>
            <RmtInf><Ustrd>${escape(entry.remittance ?? '')}</Ustrd></RmtInf>
          </TxDtls>
        </NtryDtls>
      </Ntry>`;
}

export function camt053(
  entries: readonly FixtureEntry[],
  ids: { message?: string; statement?: string } = {},
): string {
  return `<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08">
  <BkToCstmrStmt>
    <GrpHdr>
      <MsgId>${ids.message ?? 'MSG-20260302-0001'}</MsgId>
      <CreDtTm>2026-03-02T18:00:00+05:00</CreDtTm>
    </GrpHdr>
    <Stmt>
      <Id>${ids.statement ?? 'STMT-20260302'}</Id>
      <ElctrncSeqNb>61</ElctrncSeqNb>
      <CreDtTm>2026-03-02T18:00:00+05:00</CreDtTm>
      <Acct>
        <Id><IBAN>${OPERATOR_IBAN}</IBAN></Id>
        <Ccy>KZT</Ccy>
        <Svcr><FinInstnId><BICFI>CASPKZKA</BICFI></FinInstnId></Svcr>
      </Acct>
      <Bal>
        <Tp><CdOrPrtry><Cd>OPBD</Cd></CdOrPrtry></Tp>
        <Amt Ccy="KZT">0.00</Amt>
        <CdtDbtInd>CRDT</CdtDbtInd>
        <Dt><Dt>2026-03-02</Dt></Dt>
      </Bal>${entries.map(entryXml).join('')}
    </Stmt>
  </BkToCstmrStmt>
</Document>
`;
}
