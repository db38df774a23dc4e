import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.common.acl.AccessControlEntry;
import org.apache.kafka.common.acl.AclBinding;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.acl.AclPermissionType;
import org.apache.kafka.common.resource.PatternType;
import org.apache.kafka.common.resource.ResourcePattern;
import org.apache.kafka.common.resource.ResourceType;

/**
 * Creates ACLs through Kafka's own Java admin client (the JavaScript client has no CreateAcls):
 * `java -cp <broker classpath> GrantAcls.java <bootstrap> <principal> TOPIC:name:READ GROUP:name:READ …`,
 * connecting as a super user (the PLAINTEXT listener's ANONYMOUS).
 */
public class GrantAcls {
  public static void main(String[] args) throws Exception {
    Properties properties = new Properties();
    properties.put("bootstrap.servers", args[0]);
    List<AclBinding> bindings = new ArrayList<>();
    for (int i = 2; i < args.length; i++) {
      String[] parts = args[i].split(":", 3);
      ResourcePattern resource = new ResourcePattern(ResourceType.valueOf(parts[0]), parts[1], PatternType.LITERAL);
      bindings.add(new AclBinding(resource, new AccessControlEntry(args[1], "*", AclOperation.valueOf(parts[2]), AclPermissionType.ALLOW)));
    }
    try (Admin admin = Admin.create(properties)) {
      admin.createAcls(bindings).all().get();
    }
  }
}
