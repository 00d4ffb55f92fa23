// S3 answers through expat (storage/s3/s3_xml.h): every parser on the same bytes never crashes,
// a truncated page always carries its continuation token, and parsed keys, sizes and dates stay
// what the document says; a gateway's answer is input like any other.

#include <cstdint>
#include <string>

#include "fuzz_util.h"
#include "storage/s3/s3_xml.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text = depot::fuzz::as_text(data, size);
  const std::string what = "s3://fuzz/prefix";
  if (auto page = depot::parse_list_objects_v2(text, what); page.ok()) {
    depot::fuzz::check(!page->truncated || !page->next_token.empty(),
                       "s3: truncated ListObjectsV2 page without a continuation token");
  }
  (void)depot::parse_list_multipart_uploads(text, what);
  if (auto id = depot::parse_initiate_multipart(text, what); id.ok()) {
    depot::fuzz::check(!id->empty(), "s3: empty UploadId accepted");
  }
  depot::S3ErrorBody err;
  (void)depot::parse_complete_multipart(text, what, &err);
  (void)depot::parse_delete_result(text, what);
  (void)depot::parse_s3_error(text);
  (void)depot::parse_iso8601(text.substr(0, 64));
  return 0;
}
