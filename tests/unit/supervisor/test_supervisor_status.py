"""sluice-status / pipeline_status: the supervisor section from the supervisors' /actions."""
from ansible_collections.sluice.cdc.plugins.module_utils import status


class Connect:
    def list_connectors(self):
        return {}


def get_json_for(answers):
    def get_json(url, params):
        answer = answers[url]
        if isinstance(answer, Exception):
            raise answer
        return answer
    return get_json


ACTIVE = {'active': True, 'quarantined': {'sink': 2},
          'backoff': [{'connector': 'sink', 'task': 0, 'attempts': 2, 'delay_seconds': 20.0, 'wait_seconds': 5}],
          'actions': [{'time': 1700000000.0, 'action': 'task_restarted', 'connector': 'sink', 'task': 0,
                       'cause': 'transient'},
                      {'time': 1700000100.0, 'action': 'record_quarantined', 'connector': 'sink', 'topic': 't',
                       'offset': 5}]}


def test_supervisor_section_active_and_standby():
    get_json = get_json_for({'http://a:9406/actions': ACTIVE, 'http://b:9406/actions': {'active': False},
                             'http://c:9406/actions': status.StatusError('connection refused')})
    report = status.gather(Connect(), get_json=get_json,
                           supervisor_urls=['http://a:9406/', 'http://b:9406', 'http://c:9406'])
    sup = report['supervisor']
    assert sup['active'] == 1 and sup['quarantined'] == {'sink': 2}
    assert [a['action'] for a in sup['actions']] == ['task_restarted', 'record_quarantined']
    assert 'offset=5' in sup['actions'][1]['detail']
    assert report['status'] == 'healthy'
    text = status.render_text(report)
    assert 'SUPERVISOR' in text and 'http://a:9406 active' in text and 'http://b:9406 standby' in text
    assert 'unreachable: connection refused' in text and 'quarantined records: sink 2' in text
    assert 'record_quarantined' in text and 'back-off: sink task 0, 2 restart(s)' in text


def test_no_active_supervisor_is_degraded_and_none_answering_is_an_error():
    report = status.gather(Connect(), get_json=get_json_for({'http://b:9406/actions': {'active': False}}),
                           supervisor_urls=['http://b:9406'])
    assert report['status'] == 'degraded' and '0 sluice-supervisors are active' in report['problems'][0]
    assert 'no action yet' in status.render_text(report)
    report = status.gather(Connect(), get_json=get_json_for({'http://b:9406/actions': status.StatusError('down')}),
                           supervisor_urls=['http://b:9406'])
    assert report['status'] == 'error' and 'no sluice-supervisor answered' in report['errors']['supervisor']
