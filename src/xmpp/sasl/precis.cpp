// PRECIS (RFC 8264) IdentifierClass / FreeformClass and the RFC 8265 profiles
// UsernameCaseMapped and OpaqueString, on top of ICU character properties.
#include "xmpp/sasl/precis.hpp"

#include <unicode/locid.h>
#include <unicode/normalizer2.h>
#include <unicode/uchar.h>
#include <unicode/unistr.h>
#include <unicode/uscript.h>

#include <stdexcept>

namespace parley::precis {
namespace {

std::optional<std::u32string> decode_utf8(std::string_view s) {
  std::u32string out;
  out.reserve(s.size());
  size_t i = 0;
  const size_t n = s.size();
  while (i < n) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      out.push_back(c);
      ++i;
      continue;
    }
    char32_t cp;
    size_t len;
    char32_t min;
    if ((c & 0xE0) == 0xC0) {
      cp = c & 0x1F;
      len = 2;
      min = 0x80;
    } else if ((c & 0xF0) == 0xE0) {
      cp = c & 0x0F;
      len = 3;
      min = 0x800;
    } else if ((c & 0xF8) == 0xF0) {
      cp = c & 0x07;
      len = 4;
      min = 0x10000;
    } else {
      return std::nullopt;
    }
    if (n - i < len) return std::nullopt;
    for (size_t k = 1; k < len; ++k) {
      const auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return std::nullopt;
      cp = (cp << 6) | (cc & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return std::nullopt;
    out.push_back(cp);
    i += len;
  }
  return out;
}

std::string encode_utf8(const std::u32string& s) {
  std::string out;
  out.reserve(s.size());
  for (char32_t cp : s) {
    if (cp < 0x80) {
      out.push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
      out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
      out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else {
      out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
  }
  return out;
}

std::u32string to_u32(const icu::UnicodeString& u) {
  std::u32string out;
  out.reserve(static_cast<size_t>(u.length()));
  for (int32_t i = 0; i < u.length();) {
    const UChar32 c = u.char32At(i);
    out.push_back(static_cast<char32_t>(c));
    i += U16_LENGTH(c);
  }
  return out;
}

const icu::Normalizer2& nfc() {
  static const icu::Normalizer2* n = [] {
    UErrorCode st = U_ZERO_ERROR;
    const icu::Normalizer2* p = icu::Normalizer2::getNFCInstance(st);
    if (U_FAILURE(st) || p == nullptr) throw std::runtime_error("ICU: no NFC normalizer");
    return p;
  }();
  return *n;
}

const icu::Normalizer2& nfkc() {
  static const icu::Normalizer2* n = [] {
    UErrorCode st = U_ZERO_ERROR;
    const icu::Normalizer2* p = icu::Normalizer2::getNFKCInstance(st);
    if (U_FAILURE(st) || p == nullptr) throw std::runtime_error("ICU: no NFKC normalizer");
    return p;
  }();
  return *n;
}

std::optional<std::u32string> normalize_nfc(const icu::UnicodeString& u) {
  UErrorCode st = U_ZERO_ERROR;
  icu::UnicodeString n = nfc().normalize(u, st);
  if (U_FAILURE(st)) return std::nullopt;
  return to_u32(n);
}

// RFC 8264 §9.17 HasCompat: toNFKC(cp) != cp.
bool has_compat(UChar32 cp) {
  if (nfkc().isInert(cp)) return false;
  UErrorCode st = U_ZERO_ERROR;
  const icu::UnicodeString s(cp);
  const icu::UnicodeString n = nfkc().normalize(s, st);
  return U_FAILURE(st) || n != s;
}

enum class Prop { Pvalid, ContextJ, ContextO, Disallowed, Unassigned };
enum class StringClass { Identifier, Freeform };

// RFC 8264 §8 derived property value.
Prop derive(char32_t cp, StringClass cls) {
  const bool freeform = cls == StringClass::Freeform;
  // Exceptions (RFC 5892 §2.6).
  switch (cp) {
    case 0x00DF:
    case 0x03C2:
    case 0x06FD:
    case 0x06FE:
    case 0x0F0B:
    case 0x3007:
      return Prop::Pvalid;
    case 0x00B7:
    case 0x0375:
    case 0x05F3:
    case 0x05F4:
    case 0x30FB:
      return Prop::ContextO;
    case 0x0640:
    case 0x07FA:
    case 0x302E:
    case 0x302F:
    case 0x3031:
    case 0x3032:
    case 0x3033:
    case 0x3034:
    case 0x3035:
    case 0x303B:
      return Prop::Disallowed;
    default:
      break;
  }
  if ((cp >= 0x0660 && cp <= 0x0669) || (cp >= 0x06F0 && cp <= 0x06F9)) return Prop::ContextO;
  // BackwardCompatible (RFC 8264 §9.7) is empty.
  const auto c = static_cast<UChar32>(cp);
  const int8_t gc = u_charType(c);
  const bool nonchar = u_hasBinaryProperty(c, UCHAR_NONCHARACTER_CODE_POINT);
  if (gc == U_UNASSIGNED && !nonchar) return Prop::Unassigned;
  if (cp >= 0x21 && cp <= 0x7E) return Prop::Pvalid;  // ASCII7
  if (u_hasBinaryProperty(c, UCHAR_JOIN_CONTROL)) return Prop::ContextJ;
  switch (u_getIntPropertyValue(c, UCHAR_HANGUL_SYLLABLE_TYPE)) {  // OldHangulJamo
    case U_HST_LEADING_JAMO:
    case U_HST_VOWEL_JAMO:
    case U_HST_TRAILING_JAMO:
      return Prop::Disallowed;
    default:
      break;
  }
  if (nonchar || u_hasBinaryProperty(c, UCHAR_DEFAULT_IGNORABLE_CODE_POINT)) {
    return Prop::Disallowed;  // PrecisIgnorableProperties
  }
  if (gc == U_CONTROL_CHAR) return Prop::Disallowed;
  if (has_compat(c)) return freeform ? Prop::Pvalid : Prop::Disallowed;
  switch (gc) {
    // LetterDigits
    case U_LOWERCASE_LETTER:
    case U_UPPERCASE_LETTER:
    case U_OTHER_LETTER:
    case U_DECIMAL_DIGIT_NUMBER:
    case U_MODIFIER_LETTER:
    case U_NON_SPACING_MARK:
    case U_COMBINING_SPACING_MARK:
      return Prop::Pvalid;
    // OtherLetterDigits, Spaces, Symbols, Punctuation
    case U_TITLECASE_LETTER:
    case U_LETTER_NUMBER:
    case U_OTHER_NUMBER:
    case U_ENCLOSING_MARK:
    case U_SPACE_SEPARATOR:
    case U_MATH_SYMBOL:
    case U_CURRENCY_SYMBOL:
    case U_MODIFIER_SYMBOL:
    case U_OTHER_SYMBOL:
    case U_CONNECTOR_PUNCTUATION:
    case U_DASH_PUNCTUATION:
    case U_START_PUNCTUATION:
    case U_END_PUNCTUATION:
    case U_INITIAL_PUNCTUATION:
    case U_FINAL_PUNCTUATION:
    case U_OTHER_PUNCTUATION:
      return freeform ? Prop::Pvalid : Prop::Disallowed;
    default:
      return Prop::Disallowed;
  }
}

UScriptCode script_of(char32_t cp) {
  UErrorCode st = U_ZERO_ERROR;
  const UScriptCode sc = uscript_getScript(static_cast<UChar32>(cp), &st);
  return U_FAILURE(st) ? USCRIPT_INVALID_CODE : sc;
}

constexpr uint8_t kVirama = 9;  // Canonical_Combining_Class value

int joining_type(char32_t cp) {
  return u_getIntPropertyValue(static_cast<UChar32>(cp), UCHAR_JOINING_TYPE);
}

// RFC 5892 Appendix A contextual rules.
bool context_ok(const std::u32string& s, size_t i) {
  const char32_t cp = s[i];
  const bool has_before = i > 0;
  const bool has_after = i + 1 < s.size();
  switch (cp) {
    case 0x200C: {  // ZERO WIDTH NON-JOINER
      if (has_before && u_getCombiningClass(static_cast<UChar32>(s[i - 1])) == kVirama) {
        return true;
      }
      bool left = false;
      for (size_t j = i; j > 0;) {
        --j;
        const int jt = joining_type(s[j]);
        if (jt == U_JT_TRANSPARENT) continue;
        left = jt == U_JT_LEFT_JOINING || jt == U_JT_DUAL_JOINING;
        break;
      }
      bool right = false;
      for (size_t j = i + 1; j < s.size(); ++j) {
        const int jt = joining_type(s[j]);
        if (jt == U_JT_TRANSPARENT) continue;
        right = jt == U_JT_RIGHT_JOINING || jt == U_JT_DUAL_JOINING;
        break;
      }
      return left && right;
    }
    case 0x200D:  // ZERO WIDTH JOINER
      return has_before && u_getCombiningClass(static_cast<UChar32>(s[i - 1])) == kVirama;
    case 0x00B7:  // MIDDLE DOT, only in "l·l"
      return has_before && has_after && s[i - 1] == 0x6C && s[i + 1] == 0x6C;
    case 0x0375:  // GREEK LOWER NUMERAL SIGN
      return has_after && script_of(s[i + 1]) == USCRIPT_GREEK;
    case 0x05F3:  // HEBREW PUNCTUATION GERESH
    case 0x05F4:  // HEBREW PUNCTUATION GERSHAYIM
      return has_before && script_of(s[i - 1]) == USCRIPT_HEBREW;
    case 0x30FB:  // KATAKANA MIDDLE DOT
      for (char32_t c : s) {
        const UScriptCode sc = script_of(c);
        if (sc == USCRIPT_HIRAGANA || sc == USCRIPT_KATAKANA || sc == USCRIPT_HAN) return true;
      }
      return false;
    default:
      break;
  }
  if (cp >= 0x0660 && cp <= 0x0669) {
    for (char32_t c : s) {
      if (c >= 0x06F0 && c <= 0x06F9) return false;
    }
    return true;
  }
  if (cp >= 0x06F0 && cp <= 0x06F9) {
    for (char32_t c : s) {
      if (c >= 0x0660 && c <= 0x0669) return false;
    }
    return true;
  }
  return false;
}

bool class_ok(const std::u32string& s, StringClass cls) {
  for (size_t i = 0; i < s.size(); ++i) {
    switch (derive(s[i], cls)) {
      case Prop::Pvalid:
        break;
      case Prop::ContextJ:
      case Prop::ContextO:
        if (!context_ok(s, i)) return false;
        break;
      case Prop::Disallowed:
      case Prop::Unassigned:
        return false;
    }
  }
  return true;
}

// RFC 5893 §2 Bidi Rule, applied when the string holds right-to-left
// characters (RFC 8264 §5.2.6).
bool bidi_ok(const std::u32string& s) {
  bool rtl = false;
  for (char32_t c : s) {
    const UCharDirection d = u_charDirection(static_cast<UChar32>(c));
    if (d == U_RIGHT_TO_LEFT || d == U_RIGHT_TO_LEFT_ARABIC || d == U_ARABIC_NUMBER) {
      rtl = true;
      break;
    }
  }
  if (!rtl || s.empty()) return true;
  const UCharDirection first = u_charDirection(static_cast<UChar32>(s.front()));
  // Last character that is not a non-spacing mark.
  UCharDirection last = U_DIR_NON_SPACING_MARK;
  for (size_t i = s.size(); i > 0;) {
    --i;
    last = u_charDirection(static_cast<UChar32>(s[i]));
    if (last != U_DIR_NON_SPACING_MARK) break;
  }
  if (first == U_RIGHT_TO_LEFT || first == U_RIGHT_TO_LEFT_ARABIC) {
    bool en = false, an = false;
    for (char32_t c : s) {
      switch (u_charDirection(static_cast<UChar32>(c))) {
        case U_EUROPEAN_NUMBER:
          en = true;
          break;
        case U_ARABIC_NUMBER:
          an = true;
          break;
        case U_RIGHT_TO_LEFT:
        case U_RIGHT_TO_LEFT_ARABIC:
        case U_EUROPEAN_NUMBER_SEPARATOR:
        case U_COMMON_NUMBER_SEPARATOR:
        case U_EUROPEAN_NUMBER_TERMINATOR:
        case U_OTHER_NEUTRAL:
        case U_BOUNDARY_NEUTRAL:
        case U_DIR_NON_SPACING_MARK:
          break;
        default:
          return false;  // rule 2
      }
    }
    if (en && an) return false;  // rule 4
    return last == U_RIGHT_TO_LEFT || last == U_RIGHT_TO_LEFT_ARABIC || last == U_EUROPEAN_NUMBER ||
           last == U_ARABIC_NUMBER;  // rule 3
  }
  if (first == U_LEFT_TO_RIGHT) {
    for (char32_t c : s) {
      switch (u_charDirection(static_cast<UChar32>(c))) {
        case U_LEFT_TO_RIGHT:
        case U_EUROPEAN_NUMBER:
        case U_EUROPEAN_NUMBER_SEPARATOR:
        case U_COMMON_NUMBER_SEPARATOR:
        case U_EUROPEAN_NUMBER_TERMINATOR:
        case U_OTHER_NEUTRAL:
        case U_BOUNDARY_NEUTRAL:
        case U_DIR_NON_SPACING_MARK:
          break;
        default:
          return false;  // rule 5
      }
    }
    return last == U_LEFT_TO_RIGHT || last == U_EUROPEAN_NUMBER;  // rule 6
  }
  return false;  // rule 1
}

// One application of the UsernameCaseMapped enforcement rules (RFC 8265 §3.3.2).
std::optional<std::u32string> enforce_username(const std::u32string& in) {
  icu::UnicodeString u;
  for (char32_t cp : in) {
    const auto c = static_cast<UChar32>(cp);
    // Width mapping rule: fullwidth/halfwidth code points to their decomposition.
    const int dt = u_getIntPropertyValue(c, UCHAR_DECOMPOSITION_TYPE);
    icu::UnicodeString decomposition;
    if ((dt == U_DT_WIDE || dt == U_DT_NARROW) && nfkc().getRawDecomposition(c, decomposition)) {
      u.append(decomposition);
    } else {
      u.append(c);
    }
  }
  u.toLower(icu::Locale::getRoot());  // case mapping rule: toLowerCase()
  auto out = normalize_nfc(u);        // normalization rule: NFC
  if (!out || out->empty()) return std::nullopt;
  if (!bidi_ok(*out)) return std::nullopt;  // directionality rule
  if (!class_ok(*out, StringClass::Identifier)) return std::nullopt;
  return out;
}

// One application of the OpaqueString enforcement rules (RFC 8265 §4.2.2).
std::optional<std::u32string> enforce_opaque(const std::u32string& in) {
  icu::UnicodeString u;
  for (char32_t cp : in) {
    const auto c = static_cast<UChar32>(cp);
    // Additional mapping rule: non-ASCII spaces to U+0020.
    u.append(c != 0x20 && u_charType(c) == U_SPACE_SEPARATOR ? UChar32{0x20} : c);
  }
  auto out = normalize_nfc(u);
  if (!out || out->empty()) return std::nullopt;
  if (!class_ok(*out, StringClass::Freeform)) return std::nullopt;
  return out;
}

// RFC 8264 §7: re-apply the rules until the output is stable; give up after
// three further applications.
template <typename Enforce>
std::optional<std::string> stabilise(std::string_view s, Enforce enforce) {
  auto in = decode_utf8(s);
  if (!in || in->empty()) return std::nullopt;
  auto cur = enforce(*in);
  if (!cur) return std::nullopt;
  for (int k = 0; k < 3; ++k) {
    auto next = enforce(*cur);
    if (!next) return std::nullopt;
    if (*next == *cur) return encode_utf8(*cur);
    cur = std::move(next);
  }
  return std::nullopt;
}

}  // namespace

bool is_valid_utf8(std::string_view s) {
  for (unsigned char c : s) {
    if (c >= 0x80) return decode_utf8(s).has_value();
  }
  return true;
}

std::optional<std::string> username_case_mapped_full(std::string_view s) {
  return stabilise(s, enforce_username);
}

std::optional<std::string> opaque_string_full(std::string_view s) {
  return stabilise(s, enforce_opaque);
}

std::optional<std::string> username_case_mapped(std::string_view s) {
  if (s.empty()) return std::nullopt;
  std::string out(s);
  for (char& ch : out) {
    const auto c = static_cast<unsigned char>(ch);
    if (c < 0x21 || c > 0x7E) return username_case_mapped_full(s);
    if (c >= 'A' && c <= 'Z') ch = static_cast<char>(c + ('a' - 'A'));
  }
  return out;
}

std::optional<std::string> opaque_string(std::string_view s) {
  if (s.empty()) return std::nullopt;
  for (unsigned char c : s) {
    if (c < 0x20 || c > 0x7E) return opaque_string_full(s);
  }
  return std::string(s);
}

}  // namespace parley::precis
