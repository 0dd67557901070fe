#!/bin/sh
# num_active_jobs.sh (annotui sandbox): prints the number of active anno jobs.
# The sandbox keeps the count in a file; change it at any time, even while a gate waits:
#   echo 0 > @STATE_FILE@
exec head -n 1 '@STATE_FILE@'
