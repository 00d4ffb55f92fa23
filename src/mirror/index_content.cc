#include "mirror/index_content.h"

namespace depot {
namespace {

class CommittedContent final : public IndexContent {
 public:
  CommittedContent(Target& target, RelPath path) : target_(target), path_(std::move(path)) {}
  Result<std::unique_ptr<ByteSource>> open() override { return target_.open_read(path_); }

 private:
  Target& target_;
  RelPath path_;
};

class PendingContent final : public IndexContent {
 public:
  PendingContent(Target& target, std::unique_ptr<WriteTxn> txn)
      : target_(target), path_(txn->path()), txn_(std::move(txn)) {}
  Result<std::unique_ptr<ByteSource>> open() override {
    return txn_ ? txn_->open_read() : target_.open_read(path_);
  }
  std::unique_ptr<WriteTxn> take_txn(const RelPath& path) override {
    return path.str() == path_.str() ? std::move(txn_) : nullptr;
  }

 private:
  Target& target_;
  RelPath path_;
  std::unique_ptr<WriteTxn> txn_;
};

}  // namespace

std::shared_ptr<IndexContent> committed_content(Target& target, RelPath path) {
  return std::make_shared<CommittedContent>(target, std::move(path));
}

std::shared_ptr<IndexContent> pending_content(Target& target, std::unique_ptr<WriteTxn> txn) {
  return std::make_shared<PendingContent>(target, std::move(txn));
}

}  // namespace depot
