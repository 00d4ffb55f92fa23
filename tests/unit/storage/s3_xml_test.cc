#include "storage/s3/s3_xml.h"

#include <gtest/gtest.h>

#include <string>

#include "core/clock.h"

namespace depot {
namespace {

using std::chrono::milliseconds;

constexpr const char* kWhat = "s3://bucket/pre";

// As RGW 16.2 answers ListObjectsV2 with encoding-type=url (shortened).
constexpr const char* kListPage1 =
    R"(<?xml version="1.0" encoding="UTF-8"?><ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><EncodingType>url</EncodingType><Name>dev</Name><Prefix>pre%2F</Prefix><MaxKeys>2</MaxKeys><IsTruncated>true</IsTruncated><Contents><Key>pre%2Fa%2Bb</Key><LastModified>2026-12-04T04:42:23.872Z</LastModified><ETag>&quot;d41d8cd98f00b204e9800998ecf8427e&quot;</ETag><Size>0</Size><StorageClass>STANDARD</StorageClass><Type>Normal</Type></Contents><Contents><Key>pre%2Fsp%20ace%2F%C3%BCml</Key><LastModified>2026-12-04T04:42:24Z</LastModified><ETag>&quot;abc-2&quot;</ETag><Size>17825792</Size></Contents><KeyCount>2</KeyCount><ContinuationToken></ContinuationToken><NextContinuationToken>1ENUCnUzdkxO+/=x</NextContinuationToken></ListBucketResult>)";

TEST(S3Xml, ListObjectsV2DecodesKeysAndPaginates) {
  auto page = parse_list_objects_v2(kListPage1, kWhat);
  ASSERT_TRUE(page.ok()) << page.error().message;
  ASSERT_EQ(page->objects.size(), 2u);
  EXPECT_EQ(page->objects[0].key, "pre/a+b");
  EXPECT_EQ(page->objects[0].size, 0u);
  EXPECT_EQ(page->objects[0].etag, "d41d8cd98f00b204e9800998ecf8427e");
  EXPECT_EQ(unix_millis(page->objects[0].last_modified), 1796359343872);
  EXPECT_EQ(page->objects[1].key, "pre/sp ace/\xc3\xbcml");
  EXPECT_EQ(page->objects[1].size, 17825792u);
  EXPECT_EQ(page->objects[1].etag, "abc-2");
  EXPECT_EQ(unix_millis(page->objects[1].last_modified), 1796359344000);
  EXPECT_TRUE(page->truncated);
  EXPECT_EQ(page->next_token, "1ENUCnUzdkxO+/=x");  // tokens are not url-decoded
}

TEST(S3Xml, ListObjectsV2PlainKeysAndLastPage) {
  auto page = parse_list_objects_v2(
      "<ListBucketResult><IsTruncated>false</IsTruncated><Contents><Key>a+b &amp; c</Key>"
      "<LastModified>2026-12-04T04:42:23.1Z</LastModified><Size>5</Size></Contents>"
      "</ListBucketResult>",
      kWhat);
  ASSERT_TRUE(page.ok()) << page.error().message;
  ASSERT_EQ(page->objects.size(), 1u);
  EXPECT_EQ(page->objects[0].key, "a+b & c");  // no encoding-type: taken as is
  EXPECT_EQ(page->objects[0].etag, "");
  EXPECT_EQ(unix_millis(page->objects[0].last_modified) % 1000, 100);
  EXPECT_FALSE(page->truncated);
  auto empty = parse_list_objects_v2("<ListBucketResult/>", kWhat);
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->objects.empty());
}

TEST(S3Xml, ListObjectsV2RefusesBrokenAnswers) {
  for (const char* body : {
           "",
           "not xml",
           "<ListBucketResult>",         // unterminated
           "<ListAllMyBucketsResult/>",  // another document
           "<ListBucketResult><IsTruncated>true</IsTruncated></ListBucketResult>",  // no token
           "<ListBucketResult><IsTruncated>maybe</IsTruncated></ListBucketResult>",
           "<ListBucketResult><Contents><Size>1</Size></Contents></ListBucketResult>",  // no key
           "<ListBucketResult><Contents><Key>k</Key><Size>-1</Size>"
           "<LastModified>2026-12-04T04:42:23Z</LastModified></Contents></ListBucketResult>",
           "<ListBucketResult><Contents><Key>k</Key><Size>1</Size>"
           "<LastModified>yesterday</LastModified></Contents></ListBucketResult>",
           "<ListBucketResult><EncodingType>url</EncodingType><Contents><Key>%zz</Key>"
           "<Size>1</Size><LastModified>2026-12-04T04:42:23Z</LastModified></Contents>"
           "</ListBucketResult>",
           "<!DOCTYPE x [<!ENTITY e \"boom\">]><ListBucketResult/>",
           "<ListBucketResult/><ListBucketResult/>",
       }) {
    auto page = parse_list_objects_v2(body, kWhat);
    ASSERT_FALSE(page.ok()) << body;
    EXPECT_EQ(page.error().code, ErrorCode::kParse) << body;
    EXPECT_TRUE(page.error().message.starts_with("s3://bucket/pre: malformed S3 answer"))
        << page.error().message;
  }
}

TEST(S3Xml, DeepOrHugeDocumentsFailCleanly) {
  std::string deep;
  for (int i = 0; i < 100000; ++i) deep += "<a>";
  auto r = parse_list_objects_v2("<ListBucketResult>" + deep, kWhat);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("nested too deep"), std::string::npos) << r.error().message;
  std::string many = "<ListBucketResult>";
  for (int i = 0; i < 250000; ++i) many += "<x/>";
  many += "</ListBucketResult>";
  auto m = parse_list_objects_v2(many, kWhat);
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.error().message.find("too many elements"), std::string::npos);
}

TEST(S3Xml, ListMultipartUploads) {
  auto page = parse_list_multipart_uploads(
      R"(<?xml version="1.0" encoding="UTF-8"?><ListMultipartUploadsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Bucket>dev</Bucket><EncodingType>url</EncodingType><NextKeyMarker>pre%2Fb%20c</NextKeyMarker><NextUploadIdMarker>2~x</NextUploadIdMarker><MaxUploads>2</MaxUploads><IsTruncated>true</IsTruncated><Upload><Key>pre%2Fa</Key><UploadId>2~cAd_wDJM</UploadId><Initiator><ID>depot</ID></Initiator><Initiated>2026-12-04T04:41:00.000Z</Initiated></Upload><Upload><Key>pre%2Fb%20c</Key><UploadId>2~x</UploadId><Initiated>2026-12-04T04:41:01.000Z</Initiated></Upload></ListMultipartUploadsResult>)",
      kWhat);
  ASSERT_TRUE(page.ok()) << page.error().message;
  ASSERT_EQ(page->uploads.size(), 2u);
  EXPECT_EQ(page->uploads[0].key, "pre/a");
  EXPECT_EQ(page->uploads[0].upload_id, "2~cAd_wDJM");
  EXPECT_EQ(unix_seconds(page->uploads[1].initiated), 1796359261);
  EXPECT_EQ(page->uploads[1].key, "pre/b c");
  EXPECT_TRUE(page->truncated);
  EXPECT_EQ(page->next_key_marker, "pre/b c");
  EXPECT_EQ(page->next_upload_id_marker, "2~x");

  auto bad = parse_list_multipart_uploads(
      "<ListMultipartUploadsResult><Upload><Key>k</Key></Upload></ListMultipartUploadsResult>",
      kWhat);
  EXPECT_FALSE(bad.ok());
  auto stuck = parse_list_multipart_uploads(
      "<ListMultipartUploadsResult><IsTruncated>true</IsTruncated></ListMultipartUploadsResult>",
      kWhat);
  EXPECT_FALSE(stuck.ok());
}

TEST(S3Xml, InitiateMultipart) {
  auto id = parse_initiate_multipart(
      R"(<?xml version="1.0" encoding="UTF-8"?><InitiateMultipartUploadResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Bucket>dev</Bucket><Key>mp key</Key><UploadId>2~cAd_wDJMNgrLRwguKS3jiGF_DRh478f</UploadId></InitiateMultipartUploadResult>)",
      kWhat);
  ASSERT_TRUE(id.ok()) << id.error().message;
  EXPECT_EQ(*id, "2~cAd_wDJMNgrLRwguKS3jiGF_DRh478f");
  EXPECT_FALSE(parse_initiate_multipart("<InitiateMultipartUploadResult/>", kWhat).ok());
}

TEST(S3Xml, CompleteMultipartWithEmptyEtagOrAnError) {
  S3ErrorBody err;
  auto rgw = parse_complete_multipart(
      "<CompleteMultipartUploadResult><Location>x</Location><Bucket>b</Bucket><Key>k</Key>"
      "<ETag></ETag></CompleteMultipartUploadResult>",
      kWhat, &err);
  ASSERT_TRUE(rgw.ok()) << rgw.error().message;
  EXPECT_EQ(*rgw, "");  // RGW 16.2
  auto aws = parse_complete_multipart(
      "<CompleteMultipartUploadResult><ETag>\"3858f6-3\"</ETag></CompleteMultipartUploadResult>",
      kWhat, &err);
  ASSERT_TRUE(aws.ok());
  EXPECT_EQ(*aws, "3858f6-3");
  auto failed = parse_complete_multipart(
      "<Error><Code>InternalError</Code><Message>We encountered an internal error.</Message>"
      "</Error>",
      kWhat, &err);
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(err.code, "InternalError");
}

TEST(S3Xml, Errors) {
  auto e = parse_s3_error(
      R"(<?xml version="1.0" encoding="UTF-8"?><Error><Code>NoSuchBucket</Code><Message></Message><BucketName>nob</BucketName><RequestId>tx0</RequestId><HostId>1008-default-default</HostId></Error>)");
  ASSERT_TRUE(e.ok()) << e.error().message;
  EXPECT_EQ(e->code, "NoSuchBucket");
  EXPECT_EQ(e->bucket, "nob");
  auto region = parse_s3_error(
      "<Error><Code>AuthorizationHeaderMalformed</Code><Message>the region 'us-east-1' is "
      "wrong; expecting 'eu-west-1'</Message><Region>eu-west-1</Region></Error>");
  ASSERT_TRUE(region.ok());
  EXPECT_EQ(region->region, "eu-west-1");
  EXPECT_FALSE(parse_s3_error("<html>502 Bad Gateway</html>").ok());
  EXPECT_FALSE(parse_s3_error("").ok());
}

TEST(S3Xml, DeleteResult) {
  auto r = parse_delete_result(
      "<DeleteResult><Deleted><Key>a</Key></Deleted><Error><Key>b &amp; c</Key>"
      "<Code>AccessDenied</Code><Message>no</Message></Error></DeleteResult>",
      kWhat);
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ((*r)[0].key, "b & c");
  EXPECT_EQ((*r)[0].error.code, "AccessDenied");
}

TEST(S3Xml, RequestBodiesEscape) {
  std::vector<S3Part> parts = {{1, "e1"}, {2, "a<b>&\"'"}};
  EXPECT_EQ(complete_multipart_xml(parts),
            "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>\"e1\"</ETag></Part>"
            "<Part><PartNumber>2</PartNumber><ETag>\"a&lt;b&gt;&amp;&quot;&apos;\"</ETag></Part>"
            "</CompleteMultipartUpload>");
  std::vector<std::string> keys = {"a b", "x&<y>"};
  EXPECT_EQ(delete_objects_xml(keys),
            "<Delete><Quiet>true</Quiet><Object><Key>a b</Key></Object>"
            "<Object><Key>x&amp;&lt;y&gt;</Key></Object></Delete>");
}

TEST(S3Xml, Iso8601) {
  EXPECT_EQ(unix_seconds(*parse_iso8601("1970-01-01T00:00:00Z")), 0);
  EXPECT_EQ(unix_millis(*parse_iso8601("2026-12-04T04:42:23.872Z")), 1796359343872);
  EXPECT_EQ(unix_millis(*parse_iso8601("2026-12-04T04:42:23.8723456Z")), 1796359343872);
  for (const char* bad :
       {"", "2026-12-04", "2026-12-04T04:42:23", "2026-13-04T04:42:23Z", "2026-12-04T24:42:23Z",
        "2026-12-04T04:42:23.Z", "2026-12-04T04:42:23.1xZ", "2026-12-04 04:42:23Z",
        "+026-12-04T04:42:23Z", "0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z",
        "1969-12-31T23:59:59Z"}) {
    EXPECT_FALSE(parse_iso8601(bad).has_value()) << bad;
  }
}

}  // namespace
}  // namespace depot
