// common.cpp — route helpers: JSON answers, the error wrapper, text lists, scoring and ordering documents.
#include <algorithm>
#include <cmath>
#include <numeric>

#include "server/state.hpp"

namespace rerank::server {

RequestContext& request_context() {
  thread_local RequestContext ctx;
  return ctx;
}

void reply(httplib::Response& res, const OJson& body, int status) {
  res.status = status;
  res.set_content(dump(body), "application/json");
}

void reply_error(httplib::Response& res, int status, const std::string& message, int retry_after) {
  res.status = status;
  if (retry_after > 0) res.set_header("Retry-After", std::to_string(retry_after));
  OJson j;
  j["message"] = message;
  res.set_content(dump(j), "application/json");
}

httplib::Server::Handler guarded(RouteFn fn) {
  return [fn = std::move(fn)](const httplib::Request& req, httplib::Response& res) {
    try {
      fn(req, res);
    } catch (const ApiError& e) {
      reply_error(res, e.status, e.what(), e.retry_after);
    } catch (const InputError& e) {
      reply_error(res, 422, e.what());
    } catch (const std::bad_alloc&) {
      reply_error(res, 507, "out of memory while serving the request");
    } catch (const std::exception& e) {
      reply_error(res, 500, std::string("internal error: ") + e.what());
    } catch (...) {
      reply_error(res, 500, "internal error");
    }
  };
}

std::vector<std::string> parse_texts(const Json& body, const char* key, bool allow_objects, size_t max_items) {
  auto it = body.find(key);
  if (it == body.end() || it->is_null()) throw ApiError(422, std::string("field \"") + key + "\" is required");
  if (!it->is_array()) throw ApiError(422, std::string("field \"") + key + "\" must be a list");
  if (it->empty()) throw ApiError(422, std::string("field \"") + key + "\" must not be empty");
  if (it->size() > max_items)
    throw ApiError(413, std::string("field \"") + key + "\" has " + std::to_string(it->size()) +
                            " items; at most " + std::to_string(max_items) + " are allowed per request");
  std::vector<std::string> out;
  out.reserve(it->size());
  for (size_t i = 0; i < it->size(); ++i) {
    const Json& d = (*it)[i];
    if (d.is_string()) {
      out.push_back(d.get<std::string>());
      continue;
    }
    if (allow_objects && d.is_object()) {
      auto t = d.find("text");
      if (t != d.end() && t->is_string()) {
        out.push_back(t->get<std::string>());
        continue;
      }
    }
    throw ApiError(422, std::string(key) + "[" + std::to_string(i) + "] must be a string" +
                            (allow_objects ? " or an object with a string \"text\"" : ""));
  }
  return out;
}

Scored score_documents(State& st, ServedModel& m, const std::string& query, const std::vector<std::string>& documents,
                       const PairOptions& opt) {
  PairInputs in = make_pairs(m, query, documents, opt, st.options.max_request_tokens);
  RequestContext& ctx = request_context();
  ctx.model = m.name;
  auto outs = m.scheduler->run(std::move(in.pairs), &ctx.batch);
  ctx.batched = true;
  Scored s;
  s.tokens = in.tokens;
  s.logits.assign(documents.size(), -INFINITY);
  for (size_t i = 0; i < outs.size(); ++i) {
    const float v = outs[i].empty() ? -INFINITY : outs[i][0];
    s.logits[in.owner[i]] = std::max(s.logits[in.owner[i]], v);
  }
  return s;
}

std::vector<size_t> ranking(const std::vector<float>& scores, size_t top_n) {
  std::vector<size_t> idx(scores.size());
  std::iota(idx.begin(), idx.end(), size_t{0});
  auto key = [&](size_t i) { return std::isnan(scores[i]) ? -INFINITY : scores[i]; };
  std::stable_sort(idx.begin(), idx.end(), [&](size_t a, size_t b) { return key(a) > key(b); });
  if (top_n > 0 && idx.size() > top_n) idx.resize(top_n);
  return idx;
}

}  // namespace rerank::server
