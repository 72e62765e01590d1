#pragma once
// A light, namespace-aware XML element tree. One stanza is one Element.
// Unknown children are preserved in document order, so a stanza can be routed
// untouched; serialization (serializer.hpp) always escapes.
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace parley::xml {

class Element;

// A child is either an element or a run of character data, kept in order so
// that mixed content survives routing.
struct Node {
  std::unique_ptr<Element> element;  // null for text
  std::string text;

  Node() = default;
  explicit Node(std::string t) : text(std::move(t)) {}
  explicit Node(std::unique_ptr<Element> e) : element(std::move(e)) {}
  Node(const Node& other);
  Node& operator=(const Node& other);
  Node(Node&&) noexcept = default;
  Node& operator=(Node&&) noexcept = default;
  bool is_element() const { return element != nullptr; }
};

struct Attribute {
  // Attributes in the XML namespace use the "xml:" prefix (xml:lang); other
  // namespaced attributes are stored as "{namespace-uri}local".
  std::string name;
  std::string value;
};

class Element {
 public:
  Element() = default;
  Element(std::string name, std::string xmlns) : name_(std::move(name)), xmlns_(std::move(xmlns)) {}

  const std::string& name() const { return name_; }
  const std::string& xmlns() const { return xmlns_; }
  void set_name(std::string n) { name_ = std::move(n); }
  void set_xmlns(std::string ns) { xmlns_ = std::move(ns); }
  bool is(std::string_view name, std::string_view xmlns) const {
    return name_ == name && xmlns_ == xmlns;
  }

  // Attributes
  const std::vector<Attribute>& attributes() const { return attrs_; }
  std::vector<Attribute>& attributes() { return attrs_; }
  const std::string* attr(std::string_view name) const;
  std::string attr_or(std::string_view name, std::string_view fallback = {}) const;
  bool has_attr(std::string_view name) const { return attr(name) != nullptr; }
  Element& set_attr(std::string_view name, std::string value);
  void remove_attr(std::string_view name);

  // Children
  const std::vector<Node>& nodes() const { return children_; }
  std::vector<Node>& nodes() { return children_; }
  Element& add_child(Element child);              // returns the added child
  Element& add_child(std::string name, std::string xmlns);  // new empty child, returns it
  Element& add_text(std::string_view text);       // returns *this
  // First child element with this name and namespace (xmlns empty: any namespace).
  const Element* child(std::string_view name, std::string_view xmlns = {}) const;
  Element* child(std::string_view name, std::string_view xmlns = {});
  std::vector<const Element*> children(std::string_view name = {}, std::string_view xmlns = {}) const;
  std::vector<const Element*> element_children() const { return children(); }
  size_t element_count() const;
  // Removes every child element matching name/xmlns; returns how many.
  size_t remove_children(std::string_view name, std::string_view xmlns);
  // Concatenated character data of this element (direct text children only).
  std::string text() const;
  std::string child_text(std::string_view name, std::string_view xmlns = {}) const;
  void clear_children() { children_.clear(); }

  // Builder helpers for fluent construction.
  Element& with_attr(std::string_view name, std::string value) { return set_attr(name, std::move(value)); }

 private:
  std::string name_;
  std::string xmlns_;
  std::vector<Attribute> attrs_;
  std::vector<Node> children_;
};

}  // namespace parley::xml
