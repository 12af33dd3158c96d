/*
 * floor.c: the floor both floor benchmarks measure against: libyaml's
 * event parser run over one file's bytes, every event discarded. One copy,
 * so that yaml-floor (files on disk) and git-yaml-floor (blobs of a commit)
 * time exactly the same parse.
 */
#include <stdlib.h>
#include <yaml.h>

#include "bench/floor.h"

void floor_parse(const unsigned char *data, size_t len, floor_totals *t)
{
	yaml_parser_t parser;
	if (!yaml_parser_initialize(&parser))
		abort();
	yaml_parser_set_input_string(&parser, data, len);
	yaml_parser_set_encoding(&parser, YAML_UTF8_ENCODING);
	for (;;) {
		yaml_event_t ev;
		if (!yaml_parser_parse(&parser, &ev)) {
			t->errors++;
			break;
		}
		int done = ev.type == YAML_STREAM_END_EVENT;
		yaml_event_delete(&ev);
		t->events++;
		if (done)
			break;
	}
	yaml_parser_delete(&parser);
	t->files++;
	t->bytes += len;
}
