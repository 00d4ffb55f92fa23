#pragma once
// The IndexContent kinds the engine hands to sources: a pending write transaction on the
// target (a new download or generated content) and a committed file. Not thread-safe.

#include <memory>

#include "sources/source.h"
#include "storage/target.h"

namespace depot {

// The committed file `path` of `target`, read through Target::open_read. `target` must outlive
// the content.
std::shared_ptr<IndexContent> committed_content(Target& target, RelPath path);

// A closed transaction begun with WriteHints::readable. Read from the transaction until
// take_txn() hands it over, from the target (the committed file) after that.
std::shared_ptr<IndexContent> pending_content(Target& target, std::unique_ptr<WriteTxn> txn);

}  // namespace depot
