// The etcd gateway codec against answers captured from Debian 12's etcd 3.4.23
// (tests/fixtures/etcd, recorded with curl against a one-member server) and hostile bodies.
#include "registry/etcd_codec.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

namespace berth::registry::etcd {
namespace {

using ::testing::HasSubstr;

std::string Fixture(const std::string& name) {
  std::ifstream in(std::string(BERTH_FIXTURES) + "/etcd/" + name, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(EtcdCodec, Base64RoundTripsEveryByteAndRefusesBadText) {
  std::string all;
  for (int i = 0; i < 256; ++i) all += static_cast<char>(i);
  for (std::size_t n = 0; n <= all.size(); n += 37) {
    const std::string bytes = all.substr(0, n) + all.substr(0, n % 3);
    auto back = Base64Decode(Base64Encode(bytes));
    ASSERT_TRUE(back) << back.error().message;
    EXPECT_EQ(*back, bytes);
  }
  EXPECT_EQ(Base64Encode("/berth/g/1/services/web"), "L2JlcnRoL2cvMS9zZXJ2aWNlcy93ZWI=");
  for (std::string_view bad : {"abc", "ab=c", "a===", "=abc", "ab\ncd", "ab?d", "ab==cd=="}) {
    EXPECT_FALSE(Base64Decode(bad)) << bad;
  }
}

TEST(EtcdCodec, PrefixEndIsTheFirstKeyPastThePrefix) {
  EXPECT_EQ(PrefixEnd("/berth/g/1/"), "/berth/g/10");
  EXPECT_EQ(PrefixEnd(std::string("a\xff", 2)), "b");
  EXPECT_EQ(PrefixEnd(std::string("\xff\xff", 2)), std::string(1, '\0'));
}

TEST(EtcdCodec, RangeAnswersOfTheRealServer) {
  auto empty = DecodeRange(Fixture("range_empty.json"));
  ASSERT_TRUE(empty) << empty.error().message;
  EXPECT_EQ(empty->revision, 1);  // an empty range has no "kvs" and no "count": zero values
  EXPECT_TRUE(empty->kvs.empty());
  EXPECT_EQ(empty->count, 0);
  auto some = DecodeRange(Fixture("range_some.json"));
  ASSERT_TRUE(some) << some.error().message;
  ASSERT_EQ(some->kvs.size(), 1u);
  EXPECT_EQ(some->kvs[0].key, "/berth/g/1/services/web");
  EXPECT_EQ(some->kvs[0].value, R"({"port":8080})");
  EXPECT_EQ(some->kvs[0].create_revision, 2);
  EXPECT_EQ(some->kvs[0].mod_revision, 2);
  EXPECT_EQ(some->kvs[0].version, 1);
  EXPECT_EQ(some->revision, 2);
}

TEST(EtcdCodec, TxnWonAndLostAsTheServerSaysIt) {
  auto won = DecodeTxn(Fixture("txn_won.json"));
  ASSERT_TRUE(won) << won.error().message;
  EXPECT_TRUE(won->succeeded);
  ASSERT_EQ(won->responses.size(), 1u);
  EXPECT_EQ(won->responses[0].kind, Op::Kind::kPut);
  // The loser: no "succeeded" key at all, and the failure branch's range names the holder.
  auto lost = DecodeTxn(Fixture("txn_lost.json"));
  ASSERT_TRUE(lost) << lost.error().message;
  EXPECT_FALSE(lost->succeeded);
  ASSERT_EQ(lost->responses.size(), 1u);
  ASSERT_EQ(lost->responses[0].kind, Op::Kind::kRange);
  ASSERT_EQ(lost->responses[0].range.kvs.size(), 1u);
  EXPECT_EQ(lost->responses[0].range.kvs[0].value, "web");
  EXPECT_EQ(lost->revision, 3);
}

TEST(EtcdCodec, PutAndDeleteAnswers) {
  auto put = DecodePut(Fixture("put.json"));
  ASSERT_TRUE(put) << put.error().message;
  EXPECT_EQ(*put, 2);
  auto del = DecodeDelete(Fixture("delete.json"));
  ASSERT_TRUE(del) << del.error().message;
  EXPECT_EQ(*del, 1);
}

TEST(EtcdCodec, ErrorBodiesBecomeErrorsThatSayWhat) {
  auto future = DecodeRange(Fixture("error_future_rev.json"), 400);
  ASSERT_FALSE(future);
  EXPECT_EQ(future.error().code, ErrorCode::kInvalidArgument);
  EXPECT_THAT(future.error().message, HasSubstr("required revision is a future revision"));
  EXPECT_THAT(future.error().message, HasSubstr("gRPC code 11"));
  auto dup = DecodeTxn(Fixture("error_dup_key.json"), 400);
  ASSERT_FALSE(dup);
  EXPECT_THAT(dup.error().message, HasSubstr("duplicate key"));
  auto unavailable = DecodeRange(R"({"error":"etcdserver: no leader","message":"x","code":14})", 503);
  ASSERT_FALSE(unavailable);
  EXPECT_EQ(unavailable.error().code, ErrorCode::kUnavailable);
}

TEST(EtcdCodec, HostileAnswersAreRefusedNotTrusted) {
  for (std::string_view body :
       {"", "null", "[]", "{", R"({"kvs":[]})", R"({"header":{"revision":"x"}})",
        R"({"header":{"revision":"1"},"kvs":"no"})", R"({"header":{"revision":"1"},"kvs":[{"key":"!!"}]})",
        R"({"header":{"revision":"1"},"kvs":[{"value":"YQ=="}]})",
        R"({"header":{"revision":"1"},"count":"0","kvs":[{"key":"YQ=="}]})",
        R"({"header":{"revision":"99999999999999999999"}})"}) {
    auto r = DecodeRange(body);
    ASSERT_FALSE(r) << body;
    EXPECT_EQ(r.error().code, ErrorCode::kMalformed) << body << ": " << r.error().message;
  }
  const std::string deep(100000, '[');
  auto d = DecodeTxn(deep);
  ASSERT_FALSE(d);
  EXPECT_THAT(d.error().message, HasSubstr("nested deeper"));
  const std::string huge = R"({"header":{"revision":"1"},"x":")" + std::string(kMaxResponseBytes, 'a') + "\"}";
  auto h = DecodeRange(huge);
  ASSERT_FALSE(h);
  EXPECT_THAT(h.error().message, HasSubstr("more than the"));
  // A control byte in etcd's error message never reaches a terminal raw.
  auto esc = DecodeRange("{\"error\":\"bad \\u001b]0;x\\u0007\",\"code\":2}", 500);
  ASSERT_FALSE(esc);
  EXPECT_EQ(esc.error().message.find('\x1b'), std::string::npos) << esc.error().message;
}

TEST(EtcdCodec, RequestsHaveTheShapeTheServerAccepted) {
  // The claim txn exactly as sent to the real server when the fixtures were recorded.
  auto txn = EncodeTxn({{"/berth/g/1/claims/default/tcp/8080", "", CompareTarget::kCreate,
                         CompareResult::kEqual, 0, ""}},
                       {{Op::Kind::kPut, "/berth/g/1/claims/default/tcp/8080", "", "web", 0, false, 0, false}},
                       {{Op::Kind::kRange, "/berth/g/1/claims/default/tcp/8080", "", "", 0, false, 0, false}});
  ASSERT_TRUE(txn) << txn.error().message;
  const auto j = nlohmann::json::parse(*txn);
  EXPECT_EQ(j["compare"][0]["target"], "CREATE");
  EXPECT_EQ(j["compare"][0]["create_revision"], "0");
  EXPECT_EQ(j["compare"][0]["key"], "L2JlcnRoL2cvMS9jbGFpbXMvZGVmYXVsdC90Y3AvODA4MA==");
  EXPECT_EQ(j["success"][0]["request_put"]["value"], "d2Vi");
  EXPECT_TRUE(j["failure"][0].contains("request_range"));
  // etcd's limits, refused before sending: 129 operations, one key written twice.
  std::vector<Op> many(kMaxTxnOps + 1);
  for (std::size_t i = 0; i < many.size(); ++i) many[i] = {Op::Kind::kPut, "/k" + std::to_string(i), "", "v", 0, false, 0, false};
  EXPECT_FALSE(EncodeTxn({}, many, {}));
  EXPECT_FALSE(EncodeTxn({}, {{Op::Kind::kPut, "/x", "", "", 0, false, 0, false}, {Op::Kind::kDelete, "/x", "", "", 0, false, 0, false}}, {}));
  EXPECT_EQ(nlohmann::json::parse(EncodeRange({"/a", "/b", 7, true, 0})),
            nlohmann::json::parse(R"({"key":"L2E=","range_end":"L2I=","revision":"7","serializable":true})"));
}

TEST(EtcdCodec, ReadsTheWatchStreamsMessages) {
  // Captured from etcd 3.4.23: a put, a put under a lease, and the lease's revocation.
  auto created = DecodeWatchMessage(Fixture("watch_created.json"));
  ASSERT_TRUE(created) << created.error().message;
  EXPECT_TRUE(created->created);
  EXPECT_EQ(created->events, 0u);
  EXPECT_EQ(created->revision, 4);
  auto events = DecodeWatchMessage(Fixture("watch_events.json"));
  ASSERT_TRUE(events) << events.error().message;
  EXPECT_FALSE(events->created);
  EXPECT_EQ(events->events, 3u);
  EXPECT_EQ(events->last_event_revision, 4);  // the DELETE's kv has its mod_revision
  auto compacted = DecodeWatchMessage(R"({"result":{"header":{"revision":"9"},"compact_revision":"5","canceled":true}})");
  ASSERT_TRUE(compacted);
  EXPECT_TRUE(compacted->canceled);
  EXPECT_EQ(compacted->compact_revision, 5);
  EXPECT_FALSE(DecodeWatchMessage(R"({"result":{"events":[{"type":"DELETE"}]}})"));  // no kv
  EXPECT_FALSE(DecodeWatchMessage(R"({"result":{"created":"yes"}})"));
  EXPECT_FALSE(DecodeWatchMessage(R"({"error":"etcdserver: mvcc: required revision has been compacted","code":11})"));
  EXPECT_EQ(EncodeWatchCreate("/a/", "/a0", 7),
            R"({"create_request":{"key":"L2Ev","range_end":"L2Ew","start_revision":"7"}})");
}

}  // namespace
// Leases and member status, as Debian's etcd 3.4.23 answered them (a one-member server).
TEST(EtcdCodec, LeaseAndStatusAnswersOfTheRealServer) {
  auto grant = DecodeLeaseGrant(Fixture("lease_grant.json"));
  ASSERT_TRUE(grant) << grant.error().message;
  EXPECT_EQ(grant->id, 7587899312216024945);
  EXPECT_EQ(grant->ttl, 30);
  auto alive = DecodeLeaseKeepAlive(Fixture("keepalive.json"));
  ASSERT_TRUE(alive) << alive.error().message;
  EXPECT_EQ(alive->ttl, 30);
  auto gone = DecodeLeaseKeepAlive(Fixture("keepalive_gone.json"));  // no TTL: the lease is gone
  ASSERT_TRUE(gone) << gone.error().message;
  EXPECT_EQ(gone->ttl, 0);
  auto status = DecodeStatus(Fixture("status.json"));
  ASSERT_TRUE(status) << status.error().message;
  EXPECT_EQ(status->version, "3.4.23");
  EXPECT_NE(status->leader, 0);
  EXPECT_EQ(status->revision, 10);
  EXPECT_EQ(status->db_size, 36864);
  EXPECT_EQ(DecodeLeaseTimeToLive(Fixture("timetolive.json")).value(), 29);
  EXPECT_EQ(DecodeLeaseTimeToLive(R"({"header":{},"ID":"7","TTL":"-1"})").value(), -1);  // gone
  EXPECT_FALSE(DecodeLeaseGrant(R"({"header":{"revision":"1"}})"));  // no ID, no TTL
  EXPECT_EQ(EncodeLeaseGrant(30), R"({"TTL":"30"})");
  EXPECT_EQ(EncodeLeaseId(7), R"({"ID":"7"})");
}

// Authentication: the authenticate answer and the errors that say what is wrong with a token
// or a user, captured from a one-member server with TLS and auth on.
TEST(EtcdAuthCodec, AuthenticateAnswerGivesTheToken) {
  auto token = DecodeAuthenticate(Fixture("authenticate.json"));
  ASSERT_TRUE(token) << token.error().message;
  EXPECT_EQ(*token, "MMnZnagqwaibUpNo.12");
  const auto request = nlohmann::json::parse(EncodeAuthenticate("berth", "s3cr:\"et"));
  EXPECT_EQ(request["name"], "berth");
  EXPECT_EQ(request["password"], "s3cr:\"et");
}

TEST(EtcdAuthCodec, HostileTokensAreRefused) {
  EXPECT_FALSE(DecodeAuthenticate(R"({"header":{}})"));                 // no token
  EXPECT_FALSE(DecodeAuthenticate(R"({"header":{},"token":""})"));      // empty
  EXPECT_FALSE(DecodeAuthenticate(R"({"header":{},"token":7})"));       // not text
  EXPECT_FALSE(DecodeAuthenticate(R"({"header":{},"token":"a\r\nX: y"})"));  // header injection
  EXPECT_FALSE(DecodeAuthenticate(
      nlohmann::json{{"token", std::string(kMaxTokenBytes + 1, 'a')}}.dump()));
  auto refused = DecodeAuthenticate(Fixture("error_auth_failed.json"), 400);
  ASSERT_FALSE(refused);
  EXPECT_THAT(refused.error().message, HasSubstr("invalid user ID or password"));
}

TEST(EtcdAuthCodec, RefusalsAreToldApart) {
  EXPECT_EQ(ClassifyAuthRefusal(Fixture("error_invalid_token.json"), 401), AuthRefusal::kTokenInvalid);
  EXPECT_EQ(ClassifyAuthRefusal(
                R"({"error":"etcdserver: revision of auth store is old","code":3})", 400),
            AuthRefusal::kTokenInvalid);
  EXPECT_EQ(ClassifyAuthRefusal(Fixture("error_user_empty.json"), 400), AuthRefusal::kNoToken);
  EXPECT_EQ(ClassifyAuthRefusal(Fixture("error_auth_failed.json"), 400), AuthRefusal::kBadCredentials);
  EXPECT_EQ(ClassifyAuthRefusal(Fixture("error_permission_denied.json"), 403),
            AuthRefusal::kPermissionDenied);
  EXPECT_EQ(ClassifyAuthRefusal(Fixture("error_gateway_cn.txt"), 400),
            AuthRefusal::kCommonNameRefused);
  EXPECT_EQ(ClassifyAuthRefusal(Fixture("authenticate.json"), 200), AuthRefusal::kNone);
  EXPECT_EQ(ClassifyAuthRefusal(Fixture("error_future_rev.json"), 400), AuthRefusal::kNone);
  EXPECT_EQ(ClassifyAuthRefusal("not json", 500), AuthRefusal::kNone);
  EXPECT_EQ(ClassifyAuthRefusal(std::string(100, '['), 400), AuthRefusal::kNone);
}

}  // namespace berth::registry::etcd
