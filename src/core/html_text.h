#pragma once
// Escaping and unescaping of HTML text and attribute values. Pure; thread-safe.

#include <string>
#include <string_view>

namespace depot {

// Escapes & < > " and ' as entities.
std::string html_escape(std::string_view text);
// Resolves the named entities &amp; &lt; &gt; &quot; &apos; and numeric ones (&#39; &#x27;);
// anything else is left as it is.
std::string html_unescape(std::string_view text);

}  // namespace depot
