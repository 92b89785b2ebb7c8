"""The hall's Mosquitto broker: generated configuration, the hall PKI, their typed errors.

* :mod:`gateway.broker.config`: ``mosquitto.conf``, password file, ACL and credentials for one hall;
* :mod:`gateway.broker.dynsec`: keypad accounts in the dynamic-security plugin (file and runtime commands);
* :mod:`gateway.broker.limits`: packet, queue and inflight limits from the hall's size;
* :mod:`gateway.broker.owner`: the user Mosquitto runs as, and the files handed to it;
* :mod:`gateway.broker.pki`: the hall CA and the broker's server certificate;
* :mod:`gateway.broker.errors`: what is wrong with a broker setting or a devices file.

The CLI is ``hallvote broker`` (:mod:`gateway.cli.broker`).
"""
