"""Hosting capability: run models behind endpoints, with no AWS shapes.

``controller`` reconciles an endpoint's desired variants into running replicas (blue/green on update, dead
replicas replaced); ``router`` picks a variant by weight (or the one asked for) and then a healthy replica,
and forwards the invocation over pooled HTTP; ``replica`` starts and stops one replica process; ``runtime``
is the program that runs inside a replica. Nothing here imports ``sageforge.services`` or ``sageforge.aws``.
"""
