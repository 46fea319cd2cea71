"""Alert management: routing, grouping, inhibition, silences, acknowledgement, escalation,
maintenance windows, dependencies, flapping and history, modelled as pipeline stages.

Wiring (the runtime does this)::

    manager = AlertManager.from_config(cfg, db=db, outbox=notify.outbox, clock=clock,
                                       history=AlertHistory(db, clock), audit=AuditLog(clock))
    await manager.start()                     # loads state, regroups alerts, starts timers
    await manager.put([AlertInput(...)])      # the AlertSink (rules, Alertmanager API)
    await manager.actions.ack_alert(fp, by=principal, remote_addr=addr)  # audited
    await manager.reload(new_cfg.alerting, {s.name: s.depends_on for s in new_cfg.services})
    await manager.stop()
    for router in alerting_routers(manager):  # watchkeeper.alerting.api
        app.include_router(router)
"""
