#include "xmpp/xml/element.hpp"

namespace parley::xml {

Node::Node(const Node& other)
    : element(other.element ? std::make_unique<Element>(*other.element) : nullptr),
      text(other.text) {}

Node& Node::operator=(const Node& other) {
  if (this != &other) {
    element = other.element ? std::make_unique<Element>(*other.element) : nullptr;
    text = other.text;
  }
  return *this;
}

const std::string* Element::attr(std::string_view name) const {
  for (const auto& a : attrs_)
    if (a.name == name) return &a.value;
  return nullptr;
}

std::string Element::attr_or(std::string_view name, std::string_view fallback) const {
  const std::string* v = attr(name);
  return v ? *v : std::string(fallback);
}

Element& Element::set_attr(std::string_view name, std::string value) {
  for (auto& a : attrs_)
    if (a.name == name) {
      a.value = std::move(value);
      return *this;
    }
  attrs_.push_back(Attribute{std::string(name), std::move(value)});
  return *this;
}

void Element::remove_attr(std::string_view name) {
  std::erase_if(attrs_, [&](const Attribute& a) { return a.name == name; });
}

Element& Element::add_child(Element child) {
  children_.emplace_back(std::make_unique<Element>(std::move(child)));
  return *children_.back().element;
}

Element& Element::add_child(std::string name, std::string xmlns) {
  return add_child(Element(std::move(name), std::move(xmlns)));
}

Element& Element::add_text(std::string_view text) {
  if (text.empty()) return *this;
  if (!children_.empty() && !children_.back().is_element())
    children_.back().text.append(text);
  else
    children_.emplace_back(std::string(text));
  return *this;
}

const Element* Element::child(std::string_view name, std::string_view xmlns) const {
  for (const auto& n : children_)
    if (n.element && n.element->name_ == name && (xmlns.empty() || n.element->xmlns_ == xmlns))
      return n.element.get();
  return nullptr;
}

Element* Element::child(std::string_view name, std::string_view xmlns) {
  return const_cast<Element*>(std::as_const(*this).child(name, xmlns));
}

std::vector<const Element*> Element::children(std::string_view name, std::string_view xmlns) const {
  std::vector<const Element*> out;
  for (const auto& n : children_)
    if (n.element && (name.empty() || n.element->name_ == name) &&
        (xmlns.empty() || n.element->xmlns_ == xmlns))
      out.push_back(n.element.get());
  return out;
}

size_t Element::element_count() const {
  size_t count = 0;
  for (const auto& n : children_) count += n.is_element();
  return count;
}

size_t Element::remove_children(std::string_view name, std::string_view xmlns) {
  return std::erase_if(children_, [&](const Node& n) {
    return n.element && n.element->name_ == name && (xmlns.empty() || n.element->xmlns_ == xmlns);
  });
}

std::string Element::text() const {
  std::string out;
  for (const auto& n : children_)
    if (!n.element) out += n.text;
  return out;
}

std::string Element::child_text(std::string_view name, std::string_view xmlns) const {
  const Element* c = child(name, xmlns);
  return c ? c->text() : std::string();
}

}  // namespace parley::xml
