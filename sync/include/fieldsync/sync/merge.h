// fieldsync/sync/merge.h: the merge rules, one library for the tablet and the server.
//
// Replicas exchange Changes. Each replica keeps, per record, a RecordState from which the
// record's visible fields, whether it is deleted, and its open conflicts are *derived*. Merge()
// folds one Change into a RecordState. The state is a join of per-field CRDTs, so:
//
//   CONVERGENCE  two replicas that merged the same set of changes hold identical states, whatever
//                the order of arrival, with duplicates and replays (merging a change twice is a
//                no-op). tests/sync/merge_test.cc checks this over thousands of random histories.
//
// Per field, by the schema's MergeRule:
//   kLastWriterWins  the value with the highest Version (HLC, then node id) wins.
//   kReview          a multi-value register: every edit names the versions it replaced (`base`);
//                    the heads are the versions no other edit replaced. One head: that value.
//                    Several heads (concurrent edits): the highest is shown, and a Conflict lists
//                    all heads, with authors and times, until an edit whose base names them all
//                    (a resolution) replaces them. Nothing is silently lost.
//   kAddWinsSet      an observed-remove set: an add is tagged with its change's version; a remove
//                    removes only the tags it observed, so an add concurrent with a remove wins.
//   kServerOnly      merged like kLastWriterWins; who may write it is Authorize()'s question.
//   kAppendOnly      a record of an append-only collection is written once: later upserts of
//                    other values are ignored (the first version, by Version order, stands; the
//                    append-only fields are taken as a group from that one change).
// Per collection, delete versus update (the schema's DeleteRule):
//   kDeleteWins      once deleted, the record stays deleted; only a re-creation (an upsert with
//                    `recreate`) with a version above the delete brings it back. Values written
//                    at or before the delete are erased from the state (personal-data erasure);
//                    append-only values excepted, which stay hidden under the delete.
//   kUpdateWins      the record is alive when its newest field version is above the delete's.
// A re-creation starts the record anew under either rule: values written at or before the delete
// it follows are not part of the re-created record (as with Database::Put over a tombstone).
//
// Versions are HLC values (fieldsync/hlc.h), never raw device time.
//
// Thread safety: pure functions over values.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "fieldsync/hlc.h"
#include "fieldsync/schema.h"
#include "fieldsync/status.h"

namespace fieldsync::sync {

// A total order over all writes of all replicas: HLC first, node id to break ties.
struct Version {
  Hlc hlc;
  std::string node;

  friend bool operator<(const Version& a, const Version& b) {
    return a.hlc != b.hlc ? a.hlc < b.hlc : a.node < b.node;
  }
  friend bool operator==(const Version& a, const Version& b) {
    return a.hlc == b.hlc && a.node == b.node;
  }
  friend bool operator!=(const Version& a, const Version& b) { return !(a == b); }
  friend bool operator>(const Version& a, const Version& b) { return b < a; }
};

// One field written by one change.
struct FieldWrite {
  nlohmann::json value;       // null clears the field. For kAddWinsSet: see `set_add`.
  std::vector<Version> base;  // kReview: the head versions the writer saw and replaces
  // kAddWinsSet only: elements added, and the (element, add-version) tags removed.
  std::vector<std::string> set_add;
  std::vector<std::pair<std::string, Version>> set_remove;
};

// The unit replicas exchange: one operation on one record.
struct Change {
  std::string change_id;  // idempotency id, unique per change
  std::string collection;
  std::string record_id;
  enum class Op { kUpsert, kDelete } op = Op::kUpsert;
  Version version;        // of the whole change; every field it writes gets this version
  bool recreate = false;  // an upsert that creates the record anew after a delete
  std::map<std::string, FieldWrite> fields;  // empty for a delete
  std::string author;  // the user who made it (set by the server); shown in conflicts
  int schema_version = 1;
};

// ---- per-record merge state ---------------------------------------------------------------

struct RegisterValue {
  nlohmann::json value;
  Version version;
  std::string author;
};

// A multi-value register (kReview): every version seen, and what each replaced.
struct ReviewState {
  std::map<Version, RegisterValue> versions;         // all versions seen (values kept for heads)
  std::map<Version, std::vector<Version>> replaced;  // version -> its base
  std::vector<RegisterValue> Heads() const;          // highest first
};

// An observed-remove set (kAddWinsSet): element -> add tags, and the removed tags.
struct OrSetState {
  std::map<std::string, std::set<Version>> adds;
  std::set<std::pair<std::string, Version>> removed;
  std::vector<std::string> Elements() const;  // sorted
};

struct RecordState {
  std::map<std::string, RegisterValue> registers;  // kLastWriterWins, kServerOnly, kAppendOnly
  std::map<std::string, ReviewState> reviews;      // kReview
  std::map<std::string, OrSetState> sets;          // kAddWinsSet
  std::optional<Version> deleted;                  // highest delete seen
  std::optional<Version> recreated;                // highest recreate seen

  friend bool operator==(const RecordState& a, const RecordState& b);
};

// What a merge did, for the caller to update its tables and tell people.
// Every rule is idempotent, so a replayed change changes nothing and reports nothing.
struct MergeOutcome {
  // Fields whose visible value or open conflict (kReview heads) changed: a new concurrent note
  // that loses to the shown one changes no value but opens a conflict the caller must show.
  std::vector<std::string> changed_fields;
  bool alive_changed = false;  // the record was deleted or brought back
};

// An open conflict on a kReview field: all heads, highest (the shown value) first.
struct Conflict {
  std::string collection;
  std::string record_id;
  std::string field;
  std::vector<RegisterValue> heads;
  // Stable id: the same on every replica for the same set of heads.
  std::string id;
};

// Folds `change` into `state` under `collection`'s rules. InvalidArgument (and no change) if the
// change is malformed for the schema (unknown field, set ops on a non-set field, ...).
Result<MergeOutcome> Merge(const CollectionDef& collection, const Change& change,
                           RecordState* state);

// The record as the user sees it: visible field values (no "id"), or nullopt if deleted or never
// written. Cleared fields (null) and empty sets are left out.
std::optional<nlohmann::json> Materialize(const CollectionDef& collection,
                                          const RecordState& state);

// Open conflicts of the record (none while it is not alive).
std::vector<Conflict> Conflicts(const CollectionDef& collection, const std::string& record_id,
                                const RecordState& state);

// The roles that may write; see Authorize.
enum class Role { kRep, kManager, kAdmin, kServer };

// Whether `role` may make `change`: a rep may not write kServerOnly fields (managers, admins and
// the server may). FailedPrecondition with a reason naming the field otherwise; InvalidArgument
// for a field the collection does not have. Authorize sees no state, so it cannot tell a
// creation from an update: updates of an append-only record are neutralized by Merge() (the first
// write stands), and the database refuses them locally.
Status Authorize(const CollectionDef& collection, const Change& change, Role role);

// Serializes a RecordState to JSON and back, for storage (tablet and server).
nlohmann::json RecordStateToJson(const RecordState& state);
Result<RecordState> RecordStateFromJson(const nlohmann::json& json);

}  // namespace fieldsync::sync
