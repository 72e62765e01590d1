#pragma once
// The typed hook events. Each struct is one hook point; see docs/hooks.md for
// when each fires and which orderings modules rely on.
#include <boost/asio/any_io_executor.hpp>
#include <functional>
#include <string>

#include "xmpp/jid.hpp"
#include "xmpp/session.hpp"
#include "xmpp/xml/element.hpp"

namespace parley {

class Host;

// A stanza from a client, after `from` was stamped, before anything else.
// Stop = consumed (the handler answered or dropped it).
struct StanzaFromClient {
  Session& session;
  xml::Element& stanza;
};

// Presence from a client with no 'to': broadcast to subscribers (presence module).
struct PresenceBroadcast {
  Session& session;
  xml::Element& stanza;
};

// Presence from a client with a 'to': subscription handling and directed
// presence, before the core routes it (Stop = do not route).
struct OutboundPresence {
  Session& session;
  xml::Element& stanza;
  const Jid& to;
};

// Every stanza the router routes from a local account (`from` is a JID of an
// account of `host`), before anything else, on the sender's host. Stop =
// consumed (blocking drops stanzas to JIDs the sender blocked).
struct StanzaFromAccount {
  Host& host;
  const Jid& from;
  const Jid& to;
  xml::Element& stanza;
};

// Every stanza the router routes to a local account (bare or full JID), after
// StanzaFromAccount and before the per-kind events below, on the recipient's
// host. Stop = consumed (the handler answered or dropped it).
struct StanzaToAccount {
  Host& host;
  const Jid& to;
  xml::Element& stanza;
  Session* origin = nullptr;
};

// A message or presence addressed to the host's own domain (no local part,
// no resource): services the server itself offers, such as XEP-0033
// multicast. Stop = handled; otherwise the core drops it, as before. IQs to
// the domain go to IQ handlers instead.
struct StanzaToHost {
  Host& host;
  xml::Element& stanza;
  Session* origin = nullptr;
};

// Inbound stanzas to a local account. Stop = handled; otherwise the core's
// default delivery (RFC 6121 §8.5) runs. `origin` is the local session that
// sent the message (null for server-generated or remote stanzas); a handler
// that persists the message asynchronously takes origin->hold_delivery().
struct MessageToBare {
  Host& host;
  const Jid& to;
  xml::Element& stanza;
  Session* origin = nullptr;
};
struct MessageToFull {
  Host& host;
  const Jid& to;
  xml::Element& stanza;
  Session* origin = nullptr;
};
struct PresenceToBare {
  Host& host;
  const Jid& to;
  xml::Element& stanza;
};
struct PresenceToFull {
  Host& host;
  const Jid& to;
  xml::Element& stanza;
};

// A message to an existing account that no available resource could take
// (offline storage). Stop = taken (the handler keeps `hold` until the message
// is committed); Continue = bounced with service-unavailable.
struct MessageUndeliverable {
  Host& host;
  const Jid& to;  // bare
  xml::Element& stanza;
  DeliveryHold hold{};
};

// A stanza about to be written to a session (filters, client state
// indication). `hold` covers the stanza's way to the socket: a handler that
// keeps the stanza back (Stop) takes a copy and the hold with it and sends
// both later. The stanza is read-only: a room's fan-out shares one tree among
// all its recipients, and that tree has no 'to' (it is addressed to
// session.jid()).
struct StanzaToClient {
  Session& session;
  const xml::Element& stanza;
  DeliveryHold& hold;
};

// Resource bound / session gone (after an unavailable presence was handled).
struct SessionBound {
  Session& session;
};
struct SessionClosed {
  Session& session;
};

// The session's first available presence was broadcast (offline delivery).
struct InitialPresenceSent {
  Session& session;
};

// A session was resumed (XEP-0198) after its connection had dropped. Messages
// that arrived meanwhile went to offline storage; the offline module delivers
// them now, as on initial presence.
struct SessionResumed {
  Session& session;
};

// A top-level element that is not a stanza, on a bound stream (for example
// XEP-0352 <active/>). A handler that recognises it sets `handled`;
// unhandled ones close the stream with <unsupported-stanza-type/>.
struct StreamNonza {
  Session& session;
  xml::Element& element;
  bool handled = false;
};

// Stream features offered after authentication (module features such as
// roster versioning add children to `features`).
struct StreamFeaturesAuthenticated {
  Session& session;
  xml::Element& features;
};

// Stream features offered before authentication, once SASL is on offer
// (in-band registration adds its feature here).
struct StreamFeaturesUnauthenticated {
  Session& session;
  xml::Element& features;
};

// disco#info on an entity other than the host itself (an account, a node).
// Handlers add identities/features to `query` and set `handled`.
struct DiscoInfoQuery {
  Host& host;
  const Jid& from;
  const Jid& to;
  const std::string& node;
  xml::Element& query;
  bool handled = false;
};
struct DiscoItemsQuery {
  Host& host;
  const Jid& from;
  const Jid& to;
  const std::string& node;
  xml::Element& query;
  bool handled = false;
};

// An account was deleted (parleyctl user del, in-band cancel): modules drop
// per-account state; the store has already removed the rows.
struct AccountDeleted {
  Host& host;
  const Jid& account;
};

// A groupchat message a room accepted, for one member (affiliation member,
// admin or owner) with no session joined to the room: XEP-0045 delivers only
// to occupants, so this is where a push module (XEP-0357) learns what such a
// member missed. Fired once per absent member and message, for messages with
// a <body/> (what the room's archive keeps), on the room's strand after the
// occupants' copies were routed; not for private messages, subject changes
// or chat states. `message` is the room's copy as archived: from the
// sender's occupant JID, with the room's <stanza-id/> and the occupant-id, no
// 'to'. The archive row may not be committed yet when it fires (the write is
// queued to the group-committed archive writer). Handlers must not block (spawn storage
// work on the pool). Stop = later handlers do not see this member's event.
struct RoomMessageForAbsentMember {
  Host& host;
  const Jid& room;    // bare
  const Jid& member;  // bare; may be an account of another server
  const xml::Element& message;
};

// An <iq/> with a jabber:iq:register child on a stream that has not
// authenticated yet (in-band registration, XEP-0077), fired on the session's
// thread once TLS is active (or not required). A handler that takes it sets
// `handled` and answers exactly once through `reply` (thread-safe, may be
// called later from a coroutine on `executor`). Unhandled: the stream is
// closed with <not-authorized/>. The session has no JID yet; use
// session.remote_address() for per-address policy.
struct UnauthenticatedIq {
  Session& session;
  const std::string& host;
  xml::Element& stanza;
  boost::asio::any_io_executor executor;
  std::function<void(xml::Element)> reply;
  bool handled = false;
};

}  // namespace parley
