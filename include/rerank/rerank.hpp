// rerank/rerank.hpp — the whole public API. See each header for usage and thread-safety rules.
#pragma once
#include "rerank/bi_encoder.hpp"
#include "rerank/cross_encoder.hpp"
#include "rerank/error.hpp"
#include "rerank/fidelity.hpp"
#include "rerank/model.hpp"
#include "rerank/system.hpp"
#include "rerank/thread_pool.hpp"
#include "rerank/tokenizer.hpp"
