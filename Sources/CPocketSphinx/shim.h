#ifndef DALSTON_CPOCKETSPHINX_SHIM_H
#define DALSTON_CPOCKETSPHINX_SHIM_H
#include <pocketsphinx.h>
#include <cmd_ln.h>
#include <err.h>
#endif
