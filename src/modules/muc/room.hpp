#pragma once
// One multi-user chat room (XEP-0045). All of a room's state lives on its own
// strand: stanzas for the room are posted there, so the room handles them one
// at a time, in arrival order, without a lock and without holding up any other
// room. The sequence number it stamps on each accepted groupchat message
// (XEP-0359 stanza-id) is the order every occupant receives them in.
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/strand.hpp>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "modules/mam/mam_query.hpp"
#include "modules/muc/room_config.hpp"
#include "storage/store.hpp"
#include "xmpp/jid.hpp"
#include "xmpp/module.hpp"
#include "xmpp/session.hpp"
#include "xmpp/stanza.hpp"
#include "xmpp/xml/element.hpp"

namespace spdlog {
class logger;
}

namespace parley {
class Router;
class BlockingPool;
}  // namespace parley

namespace parley::muc {

enum class Affiliation { Outcast, None, Member, Admin, Owner };
enum class Role { None, Visitor, Participant, Moderator };
const char* to_string(Affiliation a);
const char* to_string(Role r);
std::optional<Affiliation> affiliation_from(std::string_view s);
std::optional<Role> role_from(std::string_view s);

// The service-wide settings and services a room uses.
struct ServiceLimits {
  int64_t max_users = 256;      // ceiling for every room's occupants and members
  int64_t max_history = 50;     // ceiling for muc#maxhistoryfetch
  int64_t max_nick_chars = 64;  // longer nicknames are not-acceptable
};

class RoomHost {
 public:
  virtual ~RoomHost() = default;
  virtual Router& router() = 0;
  virtual BlockingPool& pool() = 0;
  virtual storage::MucStore& store() = 0;
  virtual storage::ArchiveStore& archive() = 0;  // the rooms' archives: owner (service, room)
  virtual ArchiveWriter& archive_writer() = 0;   // appends to them, group-committed
  virtual const ServiceLimits& limits() const = 0;
  virtual spdlog::logger& log() = 0;
  // Which rooms a session is in, for the end of the session.
  virtual void occupant_joined(const Jid& real, const std::string& room) = 0;
  virtual void occupant_left(const Jid& real, const std::string& room) = 0;
  // The room is gone (destroyed, or temporary and empty): drop it from the
  // registry. Called on the room's strand.
  virtual void room_gone(const std::string& room) = 0;
  // A stanza reached a room that was gone: route it again (a new room may
  // be created by it).
  virtual void dispatch_again(xml::Element stanza) = 0;
  // RoomMessageForAbsentMember (events.hpp): whether any module listens,
  // so that a room works out who is absent only when someone asks; and the
  // event itself, fired on the room's strand.
  virtual bool wants_absent_members() const = 0;
  virtual void message_for_absent_member(const Jid& room, const Jid& member,
                                         const xml::Element& message) = 0;
};

class Room : public std::enable_shared_from_this<Room> {
 public:
  struct AffiliationEntry {
    Affiliation affiliation = Affiliation::None;
    std::string nick;
    std::string reason;
  };

  // A new room (not yet in the store) or one loaded from the store.
  Room(RoomHost& host, boost::asio::any_io_executor executor, Jid jid, RoomConfig config,
       bool fresh);
  void load(std::string subject, std::vector<storage::MucAffiliation> affiliations);

  const Jid& jid() const { return jid_; }
  const std::string& name() const { return jid_.local(); }
  boost::asio::strand<boost::asio::any_io_executor>& strand() { return strand_; }

  // Entry point, on the strand: a stanza routed to the room or an occupant.
  void handle(xml::Element stanza, DeliveryHold hold);
  // The occupant's session ended without an unavailable presence.
  void session_gone(const Jid& real);
  // The account was deleted: its affiliation goes.
  void forget(const Jid& bare);

  // What disco#items on the service shows; readable from any thread.
  struct Listing {
    bool listed = false;  // public and configured
    std::string title;
  };
  Listing listing() const;

 private:
  // One nickname in the room. A user may join under the same nickname from
  // several clients (phone and desktop): one occupant with several sessions,
  // each of which gets everything the occupant is sent.
  struct Occupant {
    std::string nick;
    Jid real;                   // the first session; shown as the item's jid
    std::vector<Jid> sessions;  // every session, `real` included
    Role role = Role::Participant;
    std::string occupant_id;
    xml::Element presence;  // the client's last presence, room elements stripped
  };
  struct HistoryEntry {
    xml::Element message;  // as broadcast, without 'to'
    std::chrono::system_clock::time_point stamp;
    size_t chars = 0;
  };

  // presence
  void on_presence(xml::Element& stanza, const Jid& from, const Jid& to);
  void join(xml::Element& stanza, const Jid& from, const std::string& nick);
  void join_session(Occupant& occupant, const xml::Element& stanza, const Jid& from);
  void change_nick(Occupant& occupant, xml::Element& stanza, const std::string& nick);
  // One session goes; the occupant leaves with its last session.
  void leave_session(const Jid& real);
  void leave(std::string nick, const std::vector<int>& codes, const std::string& reason,
             const std::string& actor, bool destroy_if_empty = true);
  // The occupant's presence to everyone; its own copy carries `self_codes`
  // (and `self_id`, the id of the presence that caused it).
  void broadcast_presence(const Occupant& occupant, const std::vector<int>& self_codes,
                          const std::string& self_id = {});
  xml::Element occupant_presence(const Occupant& occupant, bool with_jid) const;
  void send_history(const Occupant& occupant, const xml::Element* history_request);
  void send_subject(const Occupant& occupant);

  // messages
  void on_message(xml::Element& stanza, const Jid& from, const Jid& to, DeliveryHold hold);
  void groupchat(xml::Element& stanza, Occupant& sender, DeliveryHold hold);
  void private_message(xml::Element& stanza, Occupant& sender, const std::string& nick);
  void invite(const xml::Element& stanza, const Jid& from, const xml::Element& x);
  void voice_request(const xml::Element& stanza, Occupant& sender, const xml::Element& form);
  void status_message(const std::vector<int>& codes);
  void notify_absent_members(const xml::Element& message);

  // the room's archive (room_archive.cpp)
  void archive(const xml::Element& message, const std::string& id, const std::string& nick,
               DeliveryHold hold);
  boost::asio::awaitable<void> archive_task(std::shared_ptr<Room> self, storage::ArchiveEntry entry,
                                            DeliveryHold hold);
  bool may_read_archive(const Jid& from) const;
  void moderate(const xml::Element& stanza, const Jid& from, const xml::Element& moderate);
  boost::asio::awaitable<void> moderate_task(std::shared_ptr<Room> self, xml::Element stanza,
                                             std::string id, xml::Element moderated,
                                             std::string reason);
  boost::asio::awaitable<void> retract_task(std::shared_ptr<Room> self, std::string id,
                                            std::string occupant_id);
  void archive_query(const xml::Element& stanza, const Jid& from, const xml::Element& query,
                     bool get);
  boost::asio::awaitable<void> archive_query_task(std::shared_ptr<Room> self, xml::Element stanza,
                                                  Jid from, mam::ParsedQuery parsed);

  // iq (room_admin.cpp)
  void on_iq(xml::Element& stanza, const Jid& from, const Jid& to);
  void forward_iq(const xml::Element& stanza, const Jid& from, const Occupant& sender,
                  const Occupant& target);
  void forward_iq_response(const xml::Element& stanza, const Jid& from);
  void room_vcard(const xml::Element& stanza, const Jid& from, const xml::Element& vcard, bool get);
  std::string avatar_hash() const;
  xml::Element disco_info() const;
  xml::Element disco_items(const Jid& from) const;
  void admin_get(const xml::Element& stanza, const Jid& from, const xml::Element& query);
  void admin_set(const xml::Element& stanza, const Jid& from, const xml::Element& query);
  void owner_get(const xml::Element& stanza, const Jid& from);
  void owner_set(const xml::Element& stanza, const Jid& from, const xml::Element& query);
  void destroy(const std::string& alternate, const std::string& reason);
  // Applies an affiliation change to the occupants of `bare` (kick, role).
  void affiliation_changed(const std::string& bare, Affiliation now, const std::string& actor,
                           const std::string& reason);
  void config_changed(const RoomConfig& before);

  // nickname registration and the reserved nickname (room_register.cpp)
  void registration(const xml::Element& stanza, const Jid& from, const xml::Element& query,
                    bool get);
  xml::Element reserved_nick_info(const Jid& from) const;
  // Whether a member other than `bare` reserved `nick`.
  bool reserved_by_other(const std::string& nick, const std::string& bare) const;

  // persistence: writes run in the room's storage lane; `reply` (an IQ
  // result) is routed after the commit, or an error instead.
  void persist(std::function<void(storage::MucStore&)> write,
               std::optional<xml::Element> reply = std::nullopt,
               std::optional<xml::Element> request = std::nullopt);
  boost::asio::awaitable<void> persist_task(std::shared_ptr<Room> self,
                                            std::function<void(storage::MucStore&)> write,
                                            std::optional<xml::Element> reply,
                                            std::optional<xml::Element> request);
  void save_room();
  void save_everything();
  storage::MucRoom record() const;

  // helpers
  Affiliation affiliation_of(const Jid& real) const;
  Role default_role(Affiliation a) const;
  Occupant* occupant_by_real(const Jid& real);
  Occupant* occupant_by_nick(const std::string& nick);
  bool can_see_jids(const Occupant& viewer) const;
  int64_t cap() const;
  size_t member_count() const;
  std::string occupant_id(const Jid& real) const;
  Jid occupant_jid(const std::string& nick) const;
  void send(xml::Element stanza, const Jid& to);
  void send_all(const Occupant& occupant, const xml::Element& stanza);
  void reply_error(const xml::Element& stanza, const StanzaError& error);
  void gone();

  RoomHost& host_;
  boost::asio::strand<boost::asio::any_io_executor> strand_;
  Jid jid_;
  RoomConfig config_;
  bool fresh_;              // created by the first presence, not yet joined
  bool locked_ = false;     // created, waiting for the owner's configuration
  bool stored_ = false;     // has a row in the store
  bool gone_ = false;
  std::string subject_;
  std::string subject_from_;  // nick of who set it
  std::map<std::string, AffiliationEntry> affiliations_;  // bare JID ->
  std::map<std::string, Occupant> occupants_;             // nick ->
  std::unordered_map<std::string, std::string> nick_of_;  // real full JID -> nick
  std::deque<HistoryEntry> history_;
  struct PendingIq {
    Jid requester;  // real full JID
    std::string id;  // the requester's id
    std::string target_nick;
    Jid target;  // the session asked
  };
  std::unordered_map<std::string, PendingIq> pending_iqs_;  // forwarded id ->
  std::deque<std::string> pending_order_;
  uint64_t sequence_ = 0;
  std::chrono::system_clock::time_point created_;
  mutable std::mutex listing_mutex_;
  Listing listing_;
  void publish_listing();
};

}  // namespace parley::muc
