"""Key cases (重点件) under a lead leader (包案领导) and their plan of nodes (节点管控): issue 12."""
