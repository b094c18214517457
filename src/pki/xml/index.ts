// XML signatures of the EDS module: safe parsing, canonicalization, XMLDSig checks, signing and
// the full verification report.
export { parseXml, defaultXmlLimits, type XmlLimits } from './parse.js';
export { canonicalize, c14nMethods, type C14nMethod, type C14nOptions } from './c14n.js';
export {
  xmlSignatureMethods,
  xmlDigestMethods,
  type XmlSignatureMethod,
  type XmlSignatureMethodName,
} from './algorithms.js';
export {
  checkXmlSignatures,
  type XmlCheckOptions,
  type XmlIssue,
  type XmlReferenceCheck,
  type XmlSignatureCheck,
} from './dsig.js';
export { signXml, type SignXmlOptions } from './sign.js';
export { verifyXml, type XmlVerifyOptions } from './verify.js';
