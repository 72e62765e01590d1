// Boost.JSON, header-only: its implementation is compiled here, once, for
// every target that links parley_core (parleyd, parleyctl, the tests).
#include <boost/json/src.hpp>
