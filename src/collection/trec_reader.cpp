// TREC SGML documents (see trec_reader.hpp): a line-by-line scanner over tags and text.
#include "collection/trec_reader.hpp"

#include <cctype>
#include <optional>
#include <string_view>

#include "rerank/error.hpp"

namespace rerank::collection {
namespace {

/// The elements whose text is kept (Anserini's TrecCollection list); Title ones go to Document::title.
enum class Kind { Title, Text };
struct Element {
  std::string_view name;
  Kind kind;
};
constexpr Element kElements[] = {{"TEXT", Kind::Text},  {"HEADLINE", Kind::Title}, {"TITLE", Kind::Title},
                                  {"HL", Kind::Title},  {"HEAD", Kind::Title},     {"TTL", Kind::Title},
                                  {"DD", Kind::Text},   {"DATE", Kind::Text},      {"LP", Kind::Text},
                                  {"LEADPARA", Kind::Text}};

int element_index(std::string_view name) {
  for (size_t i = 0; i < std::size(kElements); ++i)
    if (kElements[i].name == name) return static_cast<int>(i);
  return -1;
}

struct Tag {
  std::string name;  ///< uppercased; empty for markup such as <!-- ... --> or <?xml ...?>
  bool closing = false;
  size_t end = 0;  ///< index just past '>'
};

/// The tag starting at line[i] == '<', or nullopt when this '<' is text ("a < b", "<3").
std::optional<Tag> tag_at(std::string_view line, size_t i) {
  size_t close = line.find('>', i);
  if (close == std::string_view::npos) return std::nullopt;
  size_t j = i + 1;
  if (j < close && (line[j] == '!' || line[j] == '?')) return Tag{"", false, close + 1};
  Tag t;
  if (j < close && line[j] == '/') t.closing = true, ++j;
  if (j >= close || !std::isalpha(static_cast<unsigned char>(line[j]))) return std::nullopt;
  size_t k = j;
  while (k < close && (std::isalnum(static_cast<unsigned char>(line[k])) || line[k] == '-' || line[k] == '_' || line[k] == '.')) ++k;
  if (k < close && line[k] != ' ' && line[k] != '\t' && line[k] != '/') return std::nullopt;
  if (t.closing && line.substr(k, close - k).find_first_not_of(" \t") != std::string_view::npos) return std::nullopt;
  for (size_t p = j; p < k; ++p) t.name.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(line[p]))));
  t.end = close + 1;
  return t;
}

/// `s` with &amp; &lt; &gt; &quot; &apos; decoded (other entities, e.g. SGML's &hyph;, are left as written).
void append_decoded(std::string& out, std::string_view s) {
  static constexpr std::pair<std::string_view, char> kEntities[] = {
      {"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}, {"&quot;", '"'}, {"&apos;", '\''}};
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '&') {
      bool done = false;
      for (const auto& [name, c] : kEntities)
        if (s.substr(i, name.size()) == name) {
          out.push_back(c);
          i += name.size() - 1;
          done = true;
          break;
        }
      if (done) continue;
    }
    out.push_back(s[i]);
  }
}

/// Lines trimmed, blank ones dropped, joined with `sep`, runs of spaces/tabs inside a line collapsed.
std::string tidy(const std::string& raw, char sep) {
  std::string out;
  size_t start = 0;
  while (start <= raw.size()) {
    size_t nl = raw.find('\n', start);
    std::string_view line(raw.data() + start, (nl == std::string::npos ? raw.size() : nl) - start);
    std::string piece;
    bool space = false;
    for (char c : line) {
      if (c == ' ' || c == '\t' || c == '\r') {
        space = !piece.empty();
        continue;
      }
      if (space) piece.push_back(' ');
      space = false;
      piece.push_back(c);
    }
    if (!piece.empty()) {
      if (!out.empty()) out.push_back(sep);
      out += piece;
    }
    if (nl == std::string::npos) break;
    start = nl + 1;
  }
  return valid_utf8(out);
}

/// One document being read.
struct Doc {
  size_t line = 0;  ///< of <DOC>
  std::string docno, title, text, loose;
  size_t docno_line = 0;
  bool in_docno = false, docno_done = false, in_header = false, any_element = false;
  int element = -1;  ///< the kept element we are inside, or -1
  size_t element_line = 0;

  /// Where text goes now (nullptr: dropped).
  std::string* sink() {
    if (in_docno) return &docno;
    if (in_header) return nullptr;
    if (element >= 0) return kElements[element].kind == Kind::Title ? &title : &text;
    return &loose;
  }
};

class Scanner {
 public:
  Scanner(LineReader& r, const std::function<void(Document&&)>& emit) : r_(r), emit_(emit) {}

  void run() {
    std::string line;
    while (r_.next(line)) scan(line);
    if (doc_) fail(doc_->line, "<DOC> is never closed (no </DOC> before the end of the file)");
  }

 private:
  [[noreturn]] void fail(size_t line, const std::string& what) const {
    throw InputError(r_.name() + " line " + std::to_string(line) + ": " + what + " (TREC SGML documents)");
  }
  void scan(std::string_view line) {
    size_t i = 0;
    while (i < line.size()) {
      size_t lt = line.find('<', i);
      std::optional<Tag> tag;
      while (lt != std::string_view::npos && !(tag = tag_at(line, lt))) lt = line.find('<', lt + 1);
      text(line.substr(i, lt == std::string_view::npos ? std::string_view::npos : lt - i));
      if (!tag) break;
      on_tag(*tag);
      i = tag->end;
    }
    if (doc_)
      if (std::string* s = doc_->sink()) s->push_back('\n');
  }

  void text(std::string_view s) {
    if (s.empty()) return;
    if (!doc_) {
      if (s.find_first_not_of(" \t\r") != std::string_view::npos)
        fail(r_.line_number(), "text outside <DOC> ... </DOC>: \"" + std::string(s.substr(0, 40)) + "\"");
      return;
    }
    if (std::string* sink = doc_->sink()) {
      append_decoded(*sink, s);
      r_.check_document_size(doc_->docno.size() + doc_->title.size() + doc_->text.size() + doc_->loose.size());
    }
  }

  void on_tag(const Tag& t) {
    const size_t ln = r_.line_number();
    if (t.name == "DOC") {
      if (!t.closing) {
        if (doc_) fail(ln, "<DOC> inside the document opened on line " + std::to_string(doc_->line) + " (missing </DOC>?)");
        doc_.emplace();
        doc_->line = ln;
      } else {
        if (!doc_) fail(ln, "</DOC> without <DOC>");
        finish();
      }
      return;
    }
    if (!doc_) {
      if (!t.name.empty()) fail(ln, "<" + std::string(t.closing ? "/" : "") + t.name + "> outside <DOC> ... </DOC>");
      return;
    }
    Doc& d = *doc_;
    if (d.in_docno) {
      if (t.name == "DOCNO" && t.closing) {
        d.in_docno = false;
        d.docno_done = true;
      } else if (!t.name.empty()) {
        fail(ln, "<DOCNO> opened on line " + std::to_string(d.docno_line) + " is not closed before <" +
                     (t.closing ? "/" : "") + t.name + ">");
      }
      return;
    }
    if (d.in_header) {
      d.in_header = !(t.closing && t.name == "DOCHDR");
      return;
    }
    if (d.element >= 0) {  // inside a kept element: only its end tag matters, other markup separates words
      if (t.closing && t.name == kElements[d.element].name) d.element = -1;
      else if (std::string* s = d.sink()) s->push_back(' ');
      return;
    }
    if (t.name == "DOCNO" && !t.closing) {
      if (d.docno_done) fail(ln, "a second <DOCNO> in the document opened on line " + std::to_string(d.line) + " (the first on line " + std::to_string(d.docno_line) + ")");
      d.in_docno = true;
      d.docno_line = ln;
      return;
    }
    if (t.name == "DOCHDR" && !t.closing) {
      d.in_header = true;
      return;
    }
    if (int e = element_index(t.name); e >= 0 && !t.closing) {
      d.element = e;
      d.element_line = ln;
      d.any_element = true;
      if (std::string* s = d.sink(); !s->empty()) s->push_back('\n');  // elements never run into each other
      return;
    }
    d.loose.push_back(' ');  // any other tag: markup between loose words
  }

  void finish() {
    Doc& d = *doc_;
    const size_t ln = r_.line_number();
    if (d.in_docno) fail(d.docno_line, "<DOCNO> is not closed before </DOC> on line " + std::to_string(ln));
    if (d.element >= 0)
      fail(d.element_line, std::string("<").append(kElements[d.element].name) + "> is not closed before </DOC> on line " + std::to_string(ln));
    if (!d.docno_done) fail(d.line, "the document has no <DOCNO> (its </DOC> is on line " + std::to_string(ln) + ")");
    Document out;
    out.id = tidy(d.docno, ' ');
    if (out.id.empty()) fail(d.docno_line, "empty <DOCNO>");
    if (out.id.find(' ') != std::string::npos) fail(d.docno_line, "<DOCNO> holds more than one word: \"" + out.id + "\"");
    out.title = tidy(d.title, ' ');
    out.text = tidy(d.any_element ? d.text : d.loose, '\n');
    doc_.reset();
    emit_(std::move(out));
  }

  LineReader& r_;
  const std::function<void(Document&&)>& emit_;
  std::optional<Doc> doc_;
};

}  // namespace

void read_trec_documents(LineReader& r, const std::function<void(Document&&)>& emit) { Scanner(r, emit).run(); }

bool starts_trec_document(const std::string& line) {
  size_t a = line.find_first_not_of(" \t");
  if (a == std::string::npos || line[a] != '<') return false;
  auto t = tag_at(line, a);
  return t && !t->closing && t->name == "DOC";
}

}  // namespace rerank::collection
