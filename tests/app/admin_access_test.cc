// The admin listener's access rules from request headers alone: tokens and their scopes,
// the closed default, the development opt-out, the Host allow-list, the body's type, and
// the answers each refusal gets.
#include "app/admin_access.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

namespace mailhook::app {
namespace {

using config::admin_scope;
using ::testing::HasSubstr;

constexpr std::string_view ops_secret = "0123456789abcdef-ops-oncall";
constexpr std::string_view dash_secret = "fedcba9876543210-dashboard";

// The [admin] table as the daemon loads it: secrets read from (test) variables.
config::admin_config load_admin(const std::string& admin_toml) {
  config::environment env{{"OPS", std::string(ops_secret)}, {"DASH", std::string(dash_secret)}};
  auto loaded = config::load_string(admin_toml, "test.toml", env);
  EXPECT_TRUE(loaded) << loaded.error().message;
  return loaded ? loaded->admin : config::admin_config{};
}

const std::string two_tokens =
    "[[admin.tokens]]\nname = \"ops-oncall\"\nscope = \"write\"\nenv = \"OPS\"\n\n"
    "[[admin.tokens]]\nname = \"dashboard\"\nscope = \"read\"\nenv = \"DASH\"\n";

http::request_header header(http::verb method, std::string_view target,
                            std::string_view authorization = {}) {
  http::request_header h;
  h.method(method);
  h.target(std::string(target));
  h.version(11);
  h.set(http::field::host, "127.0.0.1:9464");
  if (!authorization.empty()) h.set(http::field::authorization, std::string(authorization));
  return h;
}

std::string bearer(std::string_view secret) {
  return "Bearer " + std::string(secret);
}

// The refusal's code, or a marker that fails the comparison readably.
template <typename T>
std::error_code code_of(const result<T>& r) {
  return r ? std::error_code() : r.error().code;
}

// ---- token_table ------------------------------------------------------------------------

TEST(token_table, finds_a_token_by_its_exact_secret_only) {
  auto admin = load_admin(two_tokens);
  token_table table(admin.tokens);
  ASSERT_EQ(table.size(), 2u);
  const auto* ops = table.find(ops_secret);
  ASSERT_NE(ops, nullptr);
  EXPECT_EQ(ops->name, "ops-oncall");
  EXPECT_EQ(ops->scope, admin_scope::write);
  const auto* dash = table.find(dash_secret);
  ASSERT_NE(dash, nullptr);
  EXPECT_EQ(dash->name, "dashboard");
  // Near misses: a prefix, one more byte, another case, one byte changed, nothing.
  EXPECT_EQ(table.find(ops_secret.substr(0, ops_secret.size() - 1)), nullptr);
  EXPECT_EQ(table.find(std::string(ops_secret) + "x"), nullptr);
  EXPECT_EQ(table.find("0123456789ABCDEF-ops-oncall"), nullptr);
  std::string changed(ops_secret);
  changed.back() = 'X';
  EXPECT_EQ(table.find(changed), nullptr);
  EXPECT_EQ(table.find(""), nullptr);
}

TEST(token_table, an_empty_table_finds_nothing) {
  token_table table({});
  EXPECT_TRUE(table.empty());
  EXPECT_EQ(table.find(ops_secret), nullptr);
}

TEST(token_table, a_token_loaded_without_its_secret_matches_no_request) {
  // `mailhook suppressions` loads the file without secrets: all-zero digests.
  auto loaded = config::load_string(two_tokens, "test.toml", {}, {.read_secrets = false});
  ASSERT_TRUE(loaded) << loaded.error().message;
  token_table table(loaded->admin.tokens);
  EXPECT_EQ(table.find(ops_secret), nullptr);
  EXPECT_EQ(table.find(std::string(32, '\0')), nullptr);
}

// ---- scopes and tokens ------------------------------------------------------------------

TEST(admin_access, routes_need_read_scope_except_add_and_remove) {
  EXPECT_EQ(required_scope(http::verb::get, "/v1/suppressions/check"), admin_scope::read);
  EXPECT_EQ(required_scope(http::verb::post, "/v1/suppressions/check"), admin_scope::read);
  EXPECT_EQ(required_scope(http::verb::get, "/v1/suppressions"), admin_scope::read);
  EXPECT_EQ(required_scope(http::verb::get, "/v1/suppressions/export"), admin_scope::read);
  EXPECT_EQ(required_scope(http::verb::get, "/v1/suppressions/stats"), admin_scope::read);
  EXPECT_EQ(required_scope(http::verb::post, "/v1/suppressions"), admin_scope::write);
  EXPECT_EQ(required_scope(http::verb::delete_, "/v1/suppressions"), admin_scope::write);
}

TEST(admin_access, a_read_token_reads_and_a_write_token_also_writes) {
  admin_access access(load_admin(two_tokens));
  auto read =
      access.check_v1(header(http::verb::get, "/v1/suppressions/check", bearer(dash_secret)),
                      "/v1/suppressions/check");
  ASSERT_TRUE(read) << read.error().describe();
  EXPECT_EQ(read->name, "dashboard");
  EXPECT_EQ(read->scope, admin_scope::read);

  auto h = header(http::verb::delete_, "/v1/suppressions?tenant=a&email=b", bearer(ops_secret));
  auto write = access.check_v1(h, "/v1/suppressions");
  ASSERT_TRUE(write) << write.error().describe();
  EXPECT_EQ(write->name, "ops-oncall");
  // Write implies read.
  EXPECT_TRUE(access.check_v1(header(http::verb::get, "/v1/suppressions/stats", bearer(ops_secret)),
                              "/v1/suppressions/stats"));
}

TEST(admin_access, a_read_token_on_a_write_route_is_forbidden_with_its_name_in_the_message) {
  admin_access access(load_admin(two_tokens));
  auto h = header(http::verb::delete_, "/v1/suppressions", bearer(dash_secret));
  auto refused = access.check_v1(h, "/v1/suppressions");
  ASSERT_EQ(code_of(refused), make_error_code(admin_errc::insufficient_scope));
  EXPECT_THAT(refused.error().message, HasSubstr("token 'dashboard' has read scope"));
  auto r = reply_for(refused.error());
  EXPECT_EQ(r.result(), http::status::forbidden);
  EXPECT_EQ(r[http::field::www_authenticate],
            R"(Bearer realm="mailhook-admin", error="insufficient_scope", scope="write")");
  EXPECT_THAT(r.body(), HasSubstr(R"("error":"insufficient_scope")"));
}

TEST(admin_access, a_missing_token_is_401_with_a_bearer_challenge) {
  admin_access access(load_admin(two_tokens));
  auto refused =
      access.check_v1(header(http::verb::get, "/v1/suppressions/stats"), "/v1/suppressions/stats");
  ASSERT_EQ(code_of(refused), make_error_code(admin_errc::token_missing));
  auto r = reply_for(refused.error());
  EXPECT_EQ(r.result(), http::status::unauthorized);
  EXPECT_EQ(r[http::field::www_authenticate], R"(Bearer realm="mailhook-admin")");
  EXPECT_EQ(r[http::field::content_type], "application/json");
}

TEST(admin_access, malformed_and_repeated_authorization_headers_are_401) {
  admin_access access(load_admin(two_tokens));
  for (std::string_view value : {"Basic b3BzOnNlY3JldA==", "Bearer", "Bearer ", "bearer",
                                 "Token 0123456789abcdef-ops-oncall"}) {
    SCOPED_TRACE(std::string(value));
    auto refused = access.check_v1(header(http::verb::get, "/v1/suppressions/stats", value),
                                   "/v1/suppressions/stats");
    ASSERT_EQ(code_of(refused), make_error_code(admin_errc::token_malformed));
    auto r = reply_for(refused.error());
    EXPECT_EQ(r.result(), http::status::unauthorized);
    EXPECT_EQ(r[http::field::www_authenticate],
              R"(Bearer realm="mailhook-admin", error="invalid_request")");
  }
  // Twice, even with a good token first: which one would count is not for us to guess.
  auto h = header(http::verb::get, "/v1/suppressions/stats", bearer(ops_secret));
  h.insert(http::field::authorization, bearer(dash_secret));
  auto twice = access.check_v1(h, "/v1/suppressions/stats");
  ASSERT_EQ(code_of(twice), make_error_code(admin_errc::token_malformed));
  EXPECT_THAT(twice.error().message, HasSubstr("more than once"));
}

TEST(admin_access, an_unknown_token_is_401_invalid_token_and_the_scheme_is_case_insensitive) {
  admin_access access(load_admin(two_tokens));
  auto refused = access.check_v1(
      header(http::verb::get, "/v1/suppressions/stats", "Bearer not-a-configured-token"),
      "/v1/suppressions/stats");
  ASSERT_EQ(code_of(refused), make_error_code(admin_errc::token_unknown));
  auto r = reply_for(refused.error());
  EXPECT_EQ(r.result(), http::status::unauthorized);
  EXPECT_EQ(r[http::field::www_authenticate],
            R"(Bearer realm="mailhook-admin", error="invalid_token")");
  EXPECT_THAT(r.body(), Not(HasSubstr("not-a-configured-token")));
  EXPECT_TRUE(access.check_v1(
      header(http::verb::get, "/v1/suppressions/stats", "bEaReR " + std::string(ops_secret)),
      "/v1/suppressions/stats"));
}

TEST(admin_access, without_tokens_v1_is_closed_to_everyone) {
  admin_access access(load_admin(""));
  EXPECT_FALSE(access.open());
  for (auto method : {http::verb::get, http::verb::post, http::verb::delete_}) {
    auto refused =
        access.check_v1(header(method, "/v1/suppressions", bearer(ops_secret)), "/v1/suppressions");
    ASSERT_EQ(code_of(refused), make_error_code(admin_errc::api_closed));
    EXPECT_EQ(reply_for(refused.error()).result(), http::status::forbidden);
    EXPECT_THAT(refused.error().describe(), HasSubstr("no admin.tokens are configured"));
  }
}

TEST(admin_access, the_development_opt_out_admits_anyone_as_unauthenticated_with_write_scope) {
  admin_access access(load_admin("[admin]\nallow_unauthenticated = true\n"));
  EXPECT_TRUE(access.open());
  auto h = header(http::verb::post, "/v1/suppressions");
  h.set(http::field::content_type, "application/json");
  auto who = access.check_v1(h, "/v1/suppressions");
  ASSERT_TRUE(who) << who.error().describe();
  EXPECT_EQ(who->name, "unauthenticated");
  EXPECT_EQ(who->scope, admin_scope::write);
  // The body's type is still checked: that is what stops a cross-site form post here.
  h.set(http::field::content_type, "text/plain");
  EXPECT_EQ(code_of(access.check_v1(h, "/v1/suppressions")),
            make_error_code(admin_errc::unsupported_media_type));
}

// ---- body types -------------------------------------------------------------------------

TEST(admin_access, a_body_must_be_json_which_no_cross_site_form_can_send) {
  admin_access access(load_admin(two_tokens));
  auto post = [&](std::string_view path, std::string_view type) {
    auto h = header(http::verb::post, path, bearer(ops_secret));
    if (!type.empty()) h.set(http::field::content_type, std::string(type));
    h.set(http::field::content_length, "2");
    return access.check_v1(h, path);
  };
  for (std::string_view type :
       {"text/plain", "text/plain;charset=UTF-8", "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x", "application/jsonp", "application/json-seq", ""}) {
    SCOPED_TRACE(std::string(type));
    auto refused = post("/v1/suppressions", type);
    ASSERT_EQ(code_of(refused), make_error_code(admin_errc::unsupported_media_type));
    EXPECT_EQ(reply_for(refused.error()).result(), http::status::unsupported_media_type);
  }
  EXPECT_THAT(post("/v1/suppressions", "").error().message, HasSubstr("(got none)"));
  for (std::string_view type :
       {"application/json", "application/json; charset=utf-8", "Application/JSON"}) {
    SCOPED_TRACE(std::string(type));
    EXPECT_TRUE(post("/v1/suppressions", type));
  }
  // The batch check is a read, but a POST with a body all the same.
  EXPECT_EQ(code_of(post("/v1/suppressions/check", "text/plain")),
            make_error_code(admin_errc::unsupported_media_type));
}

TEST(admin_access, a_delete_without_a_body_needs_no_content_type_but_one_with_a_body_does) {
  admin_access access(load_admin(two_tokens));
  auto h = header(http::verb::delete_, "/v1/suppressions?tenant=a&email=b", bearer(ops_secret));
  EXPECT_TRUE(access.check_v1(h, "/v1/suppressions"));
  h.set(http::field::content_length, "0");
  EXPECT_TRUE(access.check_v1(h, "/v1/suppressions"));
  h.set(http::field::content_length, "5");
  h.set(http::field::content_type, "application/x-www-form-urlencoded");
  EXPECT_EQ(code_of(access.check_v1(h, "/v1/suppressions")),
            make_error_code(admin_errc::unsupported_media_type));
}

TEST(admin_access, authentication_comes_before_the_body_type) {
  admin_access access(load_admin(two_tokens));
  auto h = header(http::verb::post, "/v1/suppressions");
  h.set(http::field::content_type, "text/plain");
  EXPECT_EQ(code_of(access.check_v1(h, "/v1/suppressions")),
            make_error_code(admin_errc::token_missing));
}

// ---- hosts ------------------------------------------------------------------------------

TEST(host_allowlist, accepts_addresses_localhost_and_the_listen_name_with_any_port) {
  host_allowlist hosts(load_admin("[admin]\nlisten = \"admin.internal:9464\"\n"));
  for (std::string_view host :
       {"127.0.0.1", "127.0.0.1:9464", "10.1.2.3:80", "[::1]:9464", "[::1]", "localhost",
        "LocalHost:12345", "localhost.", "admin.internal", "ADMIN.internal:9464"}) {
    EXPECT_TRUE(hosts.allows(host)) << host;
  }
  for (std::string_view host :
       {"evil.example", "evil.example:9464", "localhost.evil.example", "admin.internal.evil",
        "127.0.0.1.nip.io", "", ":9464", "localhost:", "localhost:94a", "[::1", "a:b:c"}) {
    EXPECT_FALSE(hosts.allows(host)) << host;
  }
}

TEST(host_allowlist, allowed_hosts_add_names_and_a_star_accepts_any) {
  host_allowlist some(load_admin("[admin]\nallowed_hosts = [\"mailhook.Example\"]\n"));
  EXPECT_TRUE(some.allows("MAILHOOK.example:443"));
  EXPECT_FALSE(some.allows("other.example"));
  host_allowlist any(load_admin("[admin]\nallowed_hosts = [\"*\"]\n"));
  EXPECT_TRUE(any.allows("other.example:1"));
}

TEST(admin_access, a_foreign_host_is_421_and_a_missing_one_400) {
  admin_access access(load_admin(two_tokens));
  auto h = header(http::verb::get, "/healthz");
  EXPECT_TRUE(access.check_host(h));
  h.set(http::field::host, "rebound.attacker.example:9464");
  auto foreign = access.check_host(h);
  ASSERT_EQ(code_of(foreign), make_error_code(admin_errc::host_not_allowed));
  EXPECT_THAT(foreign.error().message, HasSubstr("'rebound.attacker.example:9464'"));
  auto r = reply_for(foreign.error());
  EXPECT_EQ(r.result(), http::status::misdirected_request);
  EXPECT_THAT(r.body(), HasSubstr(R"("error":"host_not_allowed")"));
  EXPECT_EQ(r.find(http::field::www_authenticate), r.end());

  h.erase(http::field::host);
  auto missing = access.check_host(h);
  ASSERT_EQ(code_of(missing), make_error_code(admin_errc::host_missing));
  EXPECT_EQ(reply_for(missing.error()).result(), http::status::bad_request);

  h.insert(http::field::host, "127.0.0.1");
  h.insert(http::field::host, "evil.example");
  EXPECT_EQ(code_of(access.check_host(h)), make_error_code(admin_errc::host_not_allowed));
}

TEST(admin_access, every_refusal_has_a_distinct_label) {
  std::vector<std::string_view> labels;
  for (auto e : all_admin_errc) labels.push_back(classify(e).word);
  std::sort(labels.begin(), labels.end());
  EXPECT_EQ(std::adjacent_find(labels.begin(), labels.end()), labels.end());
  EXPECT_EQ(labels.size(), 8u);
}

}  // namespace
}  // namespace mailhook::app
