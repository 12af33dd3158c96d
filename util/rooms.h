/*
 * rooms.h: each outside library has one room, and the build enforces it.
 * Every C file of flotilla is compiled with `-include util/rooms.h`; a
 * library's room defines its FLOTILLA_ROOM_* macro, and everywhere else
 * one function the library's main header declares is poisoned, so a
 * file outside the room that includes the header fails to compile:
 *   libgit2          source/           FLOTILLA_ROOM_GIT2
 *   libcurl          neon/             FLOTILLA_ROOM_CURL
 *   sqlite3          state/, sim/      FLOTILLA_ROOM_SQLITE (the sim's persistence)
 *   libpq            state/            FLOTILLA_ROOM_PQ
 *   libyaml          spec/             FLOTILLA_ROOM_YAML
 *   libmicrohttpd    serve/, sim/      FLOTILLA_ROOM_MHD
 * Tests and benchmarks, which look at the libraries' own output (a raw
 * SQLite file, an HTTP request), define FLOTILLA_ROOM_ANY.
 */
#ifndef FLOTILLA_ROOMS_H
#define FLOTILLA_ROOMS_H

#ifndef FLOTILLA_ROOM_ANY
#ifndef FLOTILLA_ROOM_GIT2
#pragma GCC poison git_libgit2_init
#endif
#ifndef FLOTILLA_ROOM_CURL
#pragma GCC poison curl_easy_init
#endif
#ifndef FLOTILLA_ROOM_SQLITE
#pragma GCC poison sqlite3_open_v2
#endif
#ifndef FLOTILLA_ROOM_PQ
#pragma GCC poison PQconnectdb
#endif
#ifndef FLOTILLA_ROOM_YAML
#pragma GCC poison yaml_parser_initialize
#endif
#ifndef FLOTILLA_ROOM_MHD
#pragma GCC poison MHD_start_daemon
#endif
#endif

#endif
