#pragma once
// Store interfaces. Every method is synchronous and thread-safe; callers run
// them on the storage pool (storage/executor.hpp), never on an I/O thread.
// Errors surface as StorageError (database down, disk full, ...); "not found"
// is an empty optional, not an exception.
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "xmpp/sasl/scram.hpp"

namespace parley::storage {

struct StorageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

using Clock = std::chrono::system_clock;
using Timestamp = Clock::time_point;

// An account is identified by (domain, localpart), both already prepared.
struct AccountKey {
  std::string domain;
  std::string user;
  friend bool operator==(const AccountKey&, const AccountKey&) = default;
};

struct Account {
  AccountKey key;
  bool admin = false;
  Timestamp created{};
  std::vector<sasl::ScramCredential> credentials;  // one per hash
};

class AccountStore {
 public:
  virtual ~AccountStore() = default;
  // False if the account already exists.
  virtual bool create(const Account& account) = 0;
  virtual std::optional<Account> get(const AccountKey& key) = 0;
  virtual bool exists(const AccountKey& key) = 0;
  // Replaces all credentials; false if no such account.
  virtual bool set_credentials(const AccountKey& key,
                               const std::vector<sasl::ScramCredential>& credentials) = 0;
  virtual bool set_admin(const AccountKey& key, bool admin) = 0;
  // Deletes the account and everything stored for it (roster, offline, keyval,
  // message archive and archive preferences, block list, its affiliations in
  // multi-user chat rooms); abuse reports it filed stay.
  virtual bool remove(const AccountKey& key) = 0;
  virtual std::vector<std::string> list(const std::string& domain) = 0;
};

enum class Subscription { None, To, From, Both, Remove };
const char* to_string(Subscription s);
std::optional<Subscription> subscription_from_string(std::string_view s);

struct RosterItem {
  std::string jid;  // bare, prepared
  std::string name;
  Subscription subscription = Subscription::None;
  bool ask_out = false;   // "Pending Out": we sent subscribe, no answer yet
  bool approved = false;  // pre-approval (RFC 6121 §3.4)
  std::vector<std::string> groups;
  friend bool operator==(const RosterItem&, const RosterItem&) = default;
};

struct Roster {
  std::vector<RosterItem> items;
  uint64_t version = 0;  // increases on every change (XEP-0237)
};

class RosterStore {
 public:
  virtual ~RosterStore() = default;
  virtual Roster get(const AccountKey& owner) = 0;
  virtual std::optional<RosterItem> get_item(const AccountKey& owner, const std::string& jid) = 0;
  // Inserts or replaces; returns the new roster version.
  virtual uint64_t put_item(const AccountKey& owner, const RosterItem& item) = 0;
  // Returns the new roster version, or nullopt if there was no such item.
  virtual std::optional<uint64_t> remove_item(const AccountKey& owner, const std::string& jid) = 0;

  // Inbound subscription requests awaiting the user's decision ("Pending In"),
  // kept across restarts with the original presence stanza (serialized XML).
  virtual void put_pending_in(const AccountKey& owner, const std::string& from_jid,
                              const std::string& stanza_xml) = 0;
  virtual void remove_pending_in(const AccountKey& owner, const std::string& from_jid) = 0;
  // (from_jid, stanza_xml) pairs, oldest first.
  virtual std::vector<std::pair<std::string, std::string>> pending_in(const AccountKey& owner) = 0;
};

struct OfflineMessage {
  int64_t id = 0;
  Timestamp stored{};
  std::string stanza_xml;
};

class OfflineStore {
 public:
  virtual ~OfflineStore() = default;
  // Appends; false if the user already has `quota` messages (0 = unlimited).
  virtual bool push(const AccountKey& owner, const std::string& stanza_xml, Timestamp stored,
                    size_t quota) = 0;
  // All messages, oldest first, without removing them.
  virtual std::vector<OfflineMessage> peek(const AccountKey& owner) = 0;
  // Removes messages with id <= up_to_id (after they reached the client).
  virtual void remove_up_to(const AccountKey& owner, int64_t up_to_id) = 0;
  virtual size_t count(const AccountKey& owner) = 0;
  // Deletes the domain's messages stored before `cutoff`; returns how many.
  virtual size_t expire(const std::string& domain, Timestamp cutoff) = 0;
};

// Small per-account documents: vCard, private XML, last activity, ...
// `store` names the kind ("vcard", "private"), `key` the item within it.
class KeyValueStore {
 public:
  virtual ~KeyValueStore() = default;
  virtual std::optional<std::string> get(const AccountKey& owner, const std::string& store,
                                         const std::string& key) = 0;
  virtual void put(const AccountKey& owner, const std::string& store, const std::string& key,
                   const std::string& value) = 0;
  virtual void remove(const AccountKey& owner, const std::string& store,
                      const std::string& key) = 0;
};

// One message in a user's message archive (XEP-0313).
struct ArchiveEntry {
  std::string id;  // the archive UID (XEP-0359 stanza-id), opaque and unique per owner
  Timestamp stamp{};
  std::string with_bare;      // the other party's bare JID
  std::string with_resource;  // and resource, if any
  bool outgoing = false;      // sent by the owner
  std::string stanza_xml;
  // Plaintext for full-text search; empty = not indexed (no body, or encrypted).
  std::string body;
};

struct ArchivedMessage {
  std::string id;
  Timestamp stamp{};
  std::string stanza_xml;
  friend bool operator==(const ArchivedMessage&, const ArchivedMessage&) = default;
};

// A query over one owner's archive. All filters combine (AND). Results are
// always in archive order (the order in which they were appended, whatever the
// wall clock did).
struct ArchiveQuery {
  std::optional<std::string> with_bare;
  std::optional<std::string> with_resource;        // only together with with_bare
  std::optional<Timestamp> start, end;             // inclusive
  std::optional<std::string> after_id, before_id;  // exclusive bounds (form fields)
  std::vector<std::string> ids;                    // only these (empty = no filter)
  std::optional<std::string> fulltext;             // all words must occur in the body
  // Result set management (XEP-0059): a page of at most `max` items after
  // `page_after`, or before `page_before` (empty string = the last page).
  std::optional<std::string> page_after, page_before;
  size_t max = 50;
};

struct ArchivePage {
  // False when an id named by the query is not in the archive (item-not-found).
  bool ids_found = true;
  std::vector<ArchivedMessage> messages;  // oldest first
  bool complete = false;                  // no more matching items in the paging direction
  size_t count = 0;                       // matching items, ignoring the page bounds
  size_t first_index = 0;                 // position of messages.front() among them
};

struct ArchivePrefs {
  std::string default_mode = "always";     // "always" | "never" | "roster"
  std::vector<std::string> always, never;  // JIDs
  friend bool operator==(const ArchivePrefs&, const ArchivePrefs&) = default;
};

// One append of a group commit (ArchiveStore::append_batch).
struct ArchiveAppend {
  AccountKey owner;
  ArchiveEntry entry;
};

class ArchiveStore {
 public:
  virtual ~ArchiveStore() = default;
  // Appends every entry, in order, in one transaction: all or none. Each id
  // must be new for its owner. One commit for many messages is what lets the
  // archive keep up with chat (group commit, see xmpp/group_commit.hpp).
  virtual void append_batch(std::span<const ArchiveAppend> entries) = 0;
  // A batch of one.
  void append(const AccountKey& owner, const ArchiveEntry& entry) {
    const ArchiveAppend one{owner, entry};
    append_batch(std::span(&one, 1));
  }
  virtual ArchivePage query(const AccountKey& owner, const ArchiveQuery& query) = 0;
  // Replaces a message by a tombstone (retraction, moderation): same id,
  // stamp and place in the archive, new stanza, no longer indexed for search.
  // False if the id is not in the owner's archive.
  virtual bool replace_with_tombstone(const AccountKey& owner, const std::string& id,
                                      const std::string& stanza_xml) = 0;
  // Oldest and newest message, if any.
  virtual std::optional<std::pair<ArchivedMessage, ArchivedMessage>> bounds(
      const AccountKey& owner) = 0;
  virtual size_t count(const AccountKey& owner) = 0;
  // Deletes the domain's messages past their retention: the account's own
  // (set_retention_days) if it has one, else `default_days`; 0 days keeps
  // messages forever. Returns how many were deleted.
  virtual size_t expire(const std::string& domain, Timestamp now, int default_days) = 0;
  // An account's own retention in days (0 = forever); nullopt = the server's.
  virtual std::optional<int> retention_days(const AccountKey& owner) = 0;
  virtual void set_retention_days(const AccountKey& owner, std::optional<int> days) = 0;
  virtual std::optional<ArchivePrefs> prefs(const AccountKey& owner) = 0;
  virtual void set_prefs(const AccountKey& owner, const ArchivePrefs& prefs) = 0;
};

// A user's block list (XEP-0191): JIDs as prepared strings (bare, full,
// domain or domain/resource), and the abuse reports (XEP-0377) filed with
// blocks. Reports outlive the reporter's account; block lists do not.
struct AbuseReport {
  int64_t id = 0;
  AccountKey reporter;
  std::string reported;  // the blocked JID
  std::string reason;    // e.g. urn:xmpp:reporting:spam
  std::string text;      // the user's explanation, possibly empty
  Timestamp created{};
};

class BlockListStore {
 public:
  virtual ~BlockListStore() = default;
  // The owner's blocked JIDs, sorted.
  virtual std::vector<std::string> get(const AccountKey& owner) = 0;
  // Every (user, blocked JID) pair of a domain, for the in-memory index.
  virtual std::vector<std::pair<std::string, std::string>> all(const std::string& domain) = 0;
  // Adds the JIDs (already blocked ones are kept) and records the reports,
  // in one transaction; returns the JIDs that were not blocked before.
  virtual std::vector<std::string> block(const AccountKey& owner,
                                         const std::vector<std::string>& jids,
                                         const std::vector<AbuseReport>& reports) = 0;
  // Removes the JIDs (all of them when `jids` is empty); returns those that
  // were blocked.
  virtual std::vector<std::string> unblock(const AccountKey& owner,
                                           const std::vector<std::string>& jids) = 0;
  // Newest first; `domain` empty = every domain; at most `limit` (0 = all).
  virtual std::vector<AbuseReport> reports(const std::string& domain, size_t limit) = 0;
};

// Multi-user chat rooms (XEP-0045) that outlive their occupants: the room's
// configuration (an opaque document owned by the muc module), its subject and
// its affiliations. A service is a MUC domain ("conference.example.org"), a
// room its prepared localpart.
struct MucRoom {
  std::string service;
  std::string room;
  std::string config;   // the module's own encoding
  std::string subject;  // empty = none
  Timestamp created{};
  friend bool operator==(const MucRoom&, const MucRoom&) = default;
};

struct MucAffiliation {
  std::string jid;          // bare, prepared
  std::string affiliation;  // owner | admin | member | outcast
  std::string nick;         // reserved nickname, may be empty
  std::string reason;
  friend bool operator==(const MucAffiliation&, const MucAffiliation&) = default;
};

class MucStore {
 public:
  virtual ~MucStore() = default;
  // Inserts or replaces the room's configuration and subject.
  virtual void put_room(const MucRoom& room) = 0;
  // Removes the room, its affiliations and its archive (the ArchiveStore
  // rows of owner {service, room}); false if there was no such room.
  virtual bool remove_room(const std::string& service, const std::string& room) = 0;
  // Every stored room of a service, by name.
  virtual std::vector<MucRoom> rooms(const std::string& service) = 0;
  // The room's affiliations, by JID.
  virtual std::vector<MucAffiliation> affiliations(const std::string& service,
                                                   const std::string& room) = 0;
  // Sets one affiliation; "none" removes the JID's row.
  virtual void set_affiliation(const std::string& service, const std::string& room,
                               const MucAffiliation& affiliation) = 0;
};

class Storage {
 public:
  virtual ~Storage() = default;
  virtual AccountStore& accounts() = 0;
  virtual RosterStore& roster() = 0;
  virtual OfflineStore& offline() = 0;
  virtual KeyValueStore& keyval() = 0;
  virtual ArchiveStore& archive() = 0;
  virtual BlockListStore& blocklist() = 0;
  virtual MucStore& muc() = 0;
  virtual std::string backend_name() const = 0;  // "sqlite" / "postgresql"
  virtual int schema_version() = 0;
  // Flushes and checkpoints (SQLite WAL checkpoint); called on shutdown.
  virtual void flush() = 0;
};

struct StorageConfig {
  std::string backend = "sqlite";  // "sqlite" | "postgresql"
  std::string sqlite_path;         // file path for SQLite
  std::string postgresql_uri;      // libpq connection string
  int pool_size = 4;               // PostgreSQL connections
  friend bool operator==(const StorageConfig&, const StorageConfig&) = default;
};

// Opens the backend and applies pending migrations. Throws StorageError.
std::unique_ptr<Storage> open_storage(const StorageConfig& config);

}  // namespace parley::storage
