// Tests for the one normalization of email addresses.
#include "email/address.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <utility>
#include <vector>

namespace mailhook::email {
namespace {

std::string normalized(std::string_view address) {
  auto n = normalized_address(address);
  return n ? *n
           : "<" + std::string(reason_word(static_cast<address_errc>(n.error().code.value()))) +
                 ">";
}

TEST(normalize_address, trims_ascii_whitespace_and_lower_cases) {
  EXPECT_EQ(normalized("  Alex@Example.COM "), "alex@example.com");
  EXPECT_EQ(normalized("\tBOB@X.ORG\r\n"), "bob@x.org");
  EXPECT_EQ(normalized("already@lower.case"), "already@lower.case");
}

TEST(normalize_address, drops_the_root_dot_of_the_domain) {
  EXPECT_EQ(normalized("a@example.com."), "a@example.com");
  EXPECT_EQ(normalized("A@EXAMPLE.COM."), "a@example.com");
  EXPECT_EQ(normalized("a@example.com.."), "<invalid_domain>");
  EXPECT_EQ(normalized("a@."), "<invalid_domain>");
  EXPECT_EQ(normalized("a@x..com"), "<invalid_domain>");
}

TEST(normalize_address, lower_cases_unicode_and_composes_nfc) {
  // É as one code point (C3 89) and as E + combining acute (45 CC 81): one key.
  EXPECT_EQ(normalized("\xc3\x89lise@exemple.fr"), "\xc3\xa9lise@exemple.fr");
  EXPECT_EQ(normalized("E\xcc\x81lise@exemple.fr"), "\xc3\xa9lise@exemple.fr");
  EXPECT_EQ(normalized("e\xcc\x81lise@exemple.fr"), "\xc3\xa9lise@exemple.fr");
  // Greek capital sigma to small sigma, Cyrillic capitals to small.
  EXPECT_EQ(normalized("\xce\xa3@x.gr"), "\xcf\x83@x.gr");
  EXPECT_EQ(normalized("\xd0\x98\xd0\x92\xd0\x90\xd0\x9d@x.ru"),
            "\xd0\xb8\xd0\xb2\xd0\xb0\xd0\xbd@x.ru");
}

TEST(normalize_address, writes_an_internationalized_domain_in_its_ascii_form) {
  // bücher.de in Unicode, upper case, decomposed, and as punycode: one key.
  EXPECT_EQ(normalized("jurgen@b\xc3\xbc"
                       "cher.de"),
            "jurgen@xn--bcher-kva.de");
  EXPECT_EQ(normalized("JURGEN@B\xc3\x9c"
                       "CHER.DE"),
            "jurgen@xn--bcher-kva.de");
  EXPECT_EQ(normalized("jurgen@bu\xcc\x88"
                       "cher.de"),
            "jurgen@xn--bcher-kva.de");
  EXPECT_EQ(normalized("jurgen@XN--BCHER-KVA.DE"), "jurgen@xn--bcher-kva.de");
  EXPECT_EQ(normalized("jurgen@b\xc3\xbc"
                       "cher.de."),
            "jurgen@xn--bcher-kva.de");
  // A Unicode local part with a Unicode domain: both parts normalized.
  EXPECT_EQ(normalized("J\xc3\x9cRGEN@B\xc3\x9c"
                       "CHER.DE"),
            "j\xc3\xbcrgen@xn--bcher-kva.de");
}

TEST(normalize_address, refuses_invisible_and_control_characters) {
  const char* cases[] = {
      "a\xc2\xa0@x.com",  // no-break space
      "\xc2\xa0"
      "a@x.com",              // leading no-break space (not ASCII whitespace: not trimmed)
      "a\xe2\x80\x8b@x.com",  // zero-width space
      "a\xe2\x80\x8c@x.com",  // zero-width non-joiner
      "a\xe2\x80\x8d@x.com",  // zero-width joiner
      "a\xe2\x81\xa0@x.com",  // word joiner
      "\xef\xbb\xbf"
      "a@x.com",              // byte order mark
      "a\xc2\xad@x.com",      // soft hyphen
      "a\xe2\x80\xae@x.com",  // right-to-left override
      "a\xe3\x85\xa4@x.com",  // Hangul filler
      "a\xe3\x80\x80@x.com",  // ideographic space
      "a@x\xe2\x80\x8b.com",  // zero-width space in the domain
      "a\x01@x.com",
      "a\x7f@x.com",
      "a\t@x.com",
  };
  for (const char* address : cases) {
    EXPECT_EQ(normalized(address), "<invisible_character>") << address;
  }
}

TEST(normalize_address, refuses_display_name_forms_and_lists) {
  for (const char* address :
       {"Alex <alex@x.com>", "<alex@x.com>", "\"Alex\" <alex@x.com>", "alex@x.com, bob@x.com",
        "alex@x.com;bob@x.com", "alex @x.com", "alex@x.com (Alex)"}) {
    EXPECT_EQ(normalized(address), "<not_one_address>") << address;
  }
  for (const char* address : {"alex", "@x.com", "alex@", "alex.x.com", "a@b@c.com"}) {
    EXPECT_EQ(normalized(address), "<not_one_address>") << address;
  }
}

TEST(normalize_address, refuses_invalid_utf8_empty_and_overlong_text) {
  EXPECT_EQ(normalized("a\xc3@x.com"), "<invalid_utf8>");
  EXPECT_EQ(normalized("a\xed\xa0\x80@x.com"), "<invalid_utf8>");  // a UTF-16 surrogate
  EXPECT_EQ(normalized(""), "<empty>");
  EXPECT_EQ(normalized(" \t "), "<empty>");
  std::string labels;
  for (int i = 0; i < 5; ++i) labels += std::string(60, 'b') + ".";
  EXPECT_EQ(normalized(std::string(64, 'a') + "@" + labels + "com"), "<too_long>");
  EXPECT_EQ(normalized(std::string(64, 'a') + "@" + std::string(63, 'b') + ".com"),
            std::string(64, 'a') + "@" + std::string(63, 'b') + ".com");
}

TEST(normalize_address, refuses_a_domain_idna_refuses) {
  EXPECT_EQ(normalized("a@\xe2\x98\x83.com"), "<invalid_domain>");  // a snowman
  EXPECT_EQ(normalized("a@" + std::string(64, 'b') + ".com"), "<invalid_domain>");
}

TEST(normalize_address, refuses_a_domain_whose_idna_form_holds_an_at_sign_or_a_separator) {
  // UTS #46 maps the fullwidth and small forms to ASCII '@', '<', '>', ',' and ';': the
  // result would be "a@b@c.com", which is not one address and does not normalize again.
  for (const char* form : {"\xef\xbc\xa0", "\xef\xb9\xab", "\xef\xbc\x9c", "\xef\xbc\x9e",
                           "\xef\xbc\x8c", "\xef\xbc\x9b"}) {
    EXPECT_EQ(normalized(std::string("a@b") + form + "c.com"), "<invalid_domain>") << form;
  }
  // The forms that map to what a domain holds stay accepted: a fullwidth and an
  // ideographic full stop are dots.
  EXPECT_EQ(normalized("a@b\xef\xbc\x8e"
                       "com"),
            "a@b.com");
  EXPECT_EQ(normalized("a@b\xe3\x80\x82"
                       "com\xe3\x80\x82"),
            "a@b.com");
}

TEST(normalize_address, keeps_address_literals_and_quoted_at_signs) {
  EXPECT_EQ(normalized("Postmaster@[192.0.2.1]"), "postmaster@[192.0.2.1]");
  // The last '@' separates the domain.
  EXPECT_EQ(normalized("\"a@b\"@X.com"), "\"a@b\"@x.com");
}

TEST(normalize_address, is_idempotent) {
  // Policy and lookups normalize again what ingest normalized: it must not move.
  std::vector<std::string> inputs = {"Alex@Example.COM.", "E\xcc\x81lise@exemple.fr",
                                     "J\xc3\x9cRGEN@B\xc3\x9c"
                                     "CHER.DE",
                                     "\xce\xa3@x.gr", "Postmaster@[192.0.2.1]"};
  for (const auto& input : inputs) {
    auto once = normalized(input);
    EXPECT_EQ(normalized(once), once) << input;
  }
}

TEST(normalize_address, the_ascii_path_agrees_with_the_unicode_path) {
  // Random ASCII addresses, and the same with a harmless Unicode letter appended to the
  // local part, which sends them down the libunistring path: the ASCII parts must come
  // out alike.
  std::mt19937 random(7);
  const std::string alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_+";
  auto word = [&](std::size_t n) {
    std::string w;
    for (std::size_t i = 0; i < n; ++i) w += alphabet[random() % alphabet.size()];
    return w;
  };
  for (int i = 0; i < 2000; ++i) {
    std::string local = word(1 + random() % 20);
    std::string domain = "d" + word(random() % 10) + ".Com";
    auto ascii = normalized(local + "@" + domain);
    auto unicode = normalized(local + "\xc3\xa9@" + domain);
    if (ascii.starts_with("<")) {
      EXPECT_EQ(ascii, unicode) << local << "@" << domain;
      continue;
    }
    auto at = ascii.rfind('@');
    EXPECT_EQ(unicode, ascii.substr(0, at) + "\xc3\xa9" + ascii.substr(at))
        << local << "@" << domain;
  }
}

TEST(normalize_address, reuses_the_storage_it_is_given) {
  std::string storage;
  auto first = normalize_address("A@B.COM", storage);
  ASSERT_TRUE(first);
  EXPECT_EQ(first->str(), "a@b.com");
  EXPECT_EQ(first->str().data(), storage.data());
  auto failed = normalize_address("not an address", storage);
  EXPECT_FALSE(failed);
  EXPECT_EQ(failed.error().code, address_errc::not_one_address);
}

}  // namespace
}  // namespace mailhook::email
